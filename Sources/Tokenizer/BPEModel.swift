import Foundation

/// BPE over token ids: a pre-token's bytes start as one symbol per byte (byte-level
/// vocabularies) or per character (`characters`), and the adjacent pair with the lowest merge rank (leftmost on ties) is
/// merged until no pair has a merge — the order Hugging Face's priority queue
/// produces.
final class BPEModel: @unchecked Sendable {
    struct Merge {
        var rank: Int32
        var result: Int32
    }

    /// [256]: id of the token spelling each single byte, -1 when absent.
    let byteIDs: [Int32]
    /// (left id << 32 | right id) → rank and merged id.
    let merges: [UInt64: Merge]
    /// Vocabulary spelling → id, used by `ignoreMerges` and `id(of:)`.
    let vocab: SpellingTable
    /// Llama-3 style: a pre-token that is itself in the vocabulary is one token.
    let ignoreMerges: Bool
    /// Id for bytes with no token (nil: such bytes are dropped, as Hugging Face does without unk_token).
    let unknownID: Int32?
    /// Set for a vocabulary of characters (no ByteLevel stage, e.g. SentencePiece's):
    /// a word starts as one symbol per character, not per byte.
    let characters: CharacterSymbols?

    /// How Hugging Face's BPE starts a word of characters: a character's own token, else
    /// (byte fallback) its bytes' `<0xXX>` tokens when all exist, else the unknown token
    /// (one for a run of them with `fuseUnknown`).
    struct CharacterSymbols {
        /// [256] id of `<0xXX>`, −1 when absent; nil without byte fallback.
        let byteTokens: [Int32]?
        let fuseUnknown: Bool
    }

    private let lock = NSLock()
    private var cache: [[UInt8]: [Int32]] = [:]
    private static let cacheLimit = 200_000

    init(byteIDs: [Int32], merges: [UInt64: Merge], vocab: SpellingTable, ignoreMerges: Bool, unknownID: Int32?,
         characters: CharacterSymbols? = nil) {
        self.byteIDs = byteIDs
        self.merges = merges
        self.vocab = vocab
        self.ignoreMerges = ignoreMerges
        self.unknownID = unknownID
        self.characters = characters
    }

    @inline(__always)
    static func pairKey(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    /// Appends the ids of one pre-token.
    func encode(word: [UInt8], into out: inout [Int32]) {
        // A SentencePiece pre-token can be a whole paragraph: not worth a cache entry.
        if word.count > 256 {
            out.append(contentsOf: merge(word))
            return
        }
        lock.lock()
        let cached = cache[word]
        lock.unlock()
        if let cached {
            out.append(contentsOf: cached)
            return
        }
        let ids = merge(word)
        lock.lock()
        if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[word] = ids
        lock.unlock()
        out.append(contentsOf: ids)
    }

    /// The BPE ids of one pre-token, without the cache.
    func merge(_ word: [UInt8]) -> [Int32] {
        if let characters {
            if ignoreMerges, let id = vocab.lookup(word) { return [id] }
            let ids = characterSymbols(word, characters)
            return ids.count <= 48 ? mergeByScan(ids) : mergeByHeap(ids)
        }
        if ignoreMerges, let id = vocab.lookup(ByteLevel.encode(word)) { return [id] }
        var ids: [Int32] = []
        ids.reserveCapacity(word.count)
        for b in word {
            let id = byteIDs[Int(b)]
            if id >= 0 {
                ids.append(id)
            } else if let unk = unknownID {
                ids.append(unk)
            }
        }
        return ids.count <= 48 ? mergeByScan(ids) : mergeByHeap(ids)
    }

    /// The starting symbols of a word of characters (see `CharacterSymbols`). As in Hugging
    /// Face, a pending unknown token is written when the next character has its own token
    /// or at the end, so byte-fallback tokens met meanwhile come before it.
    func characterSymbols(_ word: [UInt8], _ c: CharacterSymbols) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(word.count)
        var pendingUnknown = false
        word.withUnsafeBufferPointer { w in
            var i = 0
            while i < w.count {
                let len = min(utf8Length(w[i]), w.count - i)
                defer { i += len }
                if let id = vocab.lookup(UnsafeBufferPointer(rebasing: w[i..<(i + len)])) {
                    if pendingUnknown, let unk = unknownID { ids.append(unk) }
                    pendingUnknown = false
                    ids.append(id)
                    continue
                }
                if let bytes = c.byteTokens, !w[i..<(i + len)].contains(where: { bytes[Int($0)] < 0 }) {
                    for b in w[i..<(i + len)] { ids.append(bytes[Int(b)]) }
                    continue
                }
                guard let unk = unknownID else { continue }
                if pendingUnknown && !c.fuseUnknown { ids.append(unk) }
                pendingUnknown = true
            }
        }
        if pendingUnknown, let unk = unknownID { ids.append(unk) }
        return ids
    }

    /// O(n²) scan: fastest for the short words that are nearly all input.
    func mergeByScan(_ start: [Int32]) -> [Int32] {
        var ids = start
        while ids.count > 1 {
            var best = Int32.max
            var bestAt = -1
            var bestResult: Int32 = 0
            for i in 0..<(ids.count - 1) {
                if let m = merges[Self.pairKey(ids[i], ids[i + 1])], m.rank < best {
                    best = m.rank
                    bestAt = i
                    bestResult = m.result
                }
            }
            if bestAt < 0 { break }
            ids[bestAt] = bestResult
            ids.remove(at: bestAt + 1)
        }
        return ids
    }

    /// O(n log n) with a linked list of symbols and a min-heap of candidate
    /// pairs keyed (rank, position); stale entries are skipped when popped.
    func mergeByHeap(_ start: [Int32]) -> [Int32] {
        let n = start.count
        guard n > 1 else { return start }
        var ids = start                      // [n]: id of the symbol starting here, -1 once absorbed
        var next = (0..<n).map { Int32($0 + 1) }  // [n]: next live symbol, n at the end
        var prev = (0..<n).map { Int32($0 - 1) }  // [n]: previous live symbol, -1 at the start
        var heap = MinHeap()
        func push(_ i: Int) {
            let j = Int(next[i])
            guard j < n, let m = merges[Self.pairKey(ids[i], ids[j])] else { return }
            heap.push(UInt64(UInt32(m.rank)) << 32 | UInt64(i))
        }
        for i in 0..<(n - 1) { push(i) }
        while let top = heap.pop() {
            let rank = Int32(truncatingIfNeeded: top >> 32)
            let i = Int(top & 0xFFFF_FFFF)
            guard ids[i] >= 0 else { continue }
            let j = Int(next[i])
            guard j < n, let m = merges[Self.pairKey(ids[i], ids[j])], m.rank == rank else { continue }
            ids[i] = m.result
            ids[j] = -1
            let k = Int(next[j])
            next[i] = Int32(k)
            if k < n { prev[k] = Int32(i) }
            if prev[i] >= 0 { push(Int(prev[i])) }
            push(i)
        }
        var out: [Int32] = []
        var i = 0
        while i < n {
            out.append(ids[i])
            i = Int(next[i])
        }
        return out
    }
}

/// Binary min-heap of UInt64 keys.
struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ x: UInt64) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if items[p] <= items[i] { break }
            items.swapAt(p, i)
            i = p
        }
    }

    mutating func pop() -> UInt64? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        var i = 0
        let n = items.count
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < n && items[l] < items[m] { m = l }
            if r < n && items[r] < items[m] { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return first
    }
}
