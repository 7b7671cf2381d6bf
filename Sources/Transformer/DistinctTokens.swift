/// Distinct token ids in first-occurrence order, with O(1) membership: the repetition
/// penalty's input. A branch keeps one incrementally, so the sampler walks the distinct
/// tokens (tens) instead of the whole history (hundreds) every token, and penalises them
/// in the same order as it would the history (first occurrences), so draws and
/// normalisers are the same bit for bit.
public struct DistinctTokens: Sendable {
    /// Each id once, in the order of first insertion.
    public private(set) var ids: [Int] = []
    private var seen: [UInt64] = []   // [⌈(max id + 1) / 64⌉] membership bits

    public init() {}

    public init(_ tokens: [Int]) {
        for t in tokens { insert(t) }
    }

    public func contains(_ t: Int) -> Bool {
        t >= 0 && t >> 6 < seen.count && seen[t >> 6] & (1 << UInt64(t & 63)) != 0
    }

    /// Adds `t` unless present. Negative ids are never sampled and are ignored.
    public mutating func insert(_ t: Int) {
        guard t >= 0, !contains(t) else { return }
        let word = t >> 6
        if word >= seen.count { seen.append(contentsOf: repeatElement(0, count: word + 1 - seen.count)) }
        seen[word] |= 1 << UInt64(t & 63)
        ids.append(t)
    }
}
