/// Finds step tokens while a trajectory is generated, token by token (MetaStone-S1 §4.1).
///
/// A step token is the token that *completes* an occurrence of one of `patterns` in the
/// decoded text (default ".\n\n"). This equals MetaStone's rule (tokens whose text contains
/// ".\n\n", e.g. Qwen's single token 382) and also finds steps when the pattern is split
/// over tokens ("." + "\n\n" or "." + "\n" + "\n" in SmolLM2's vocabulary). Then:
/// - only the first of a run of consecutive step tokens counts;
/// - a step token at the very start of the reasoning region is dropped (it carries no
///   solution text): the first token after `<think>` (or of the observed stream), or one
///   whose pattern occurrence begins at the region's first byte;
/// - only tokens strictly between `<think>` and `</think>` count. Before any `<think>`,
///   tokens count only when `requireThinkTags` is false (models without a think block, or
///   prompts that already ended inside one); after `</think>` nothing counts.
///   With `thinkOpenID == nil` the stream starts inside the region.
///
/// The score for a step token at sequence position i is read from the hidden state at
/// position i - 1 (the position whose logits produced it), as MetaStone's code does.
public struct StepDetector: Sendable {
    /// Per-branch state; a plain value, so copying it is how a forked branch inherits it.
    public struct State: Sendable, Equatable {
        enum Phase: UInt8, Sendable { case beforeThink, inThink, afterThink }
        var phase: Phase
        /// The previous token was a (raw) step token: later ones in the run are skipped.
        var previousWasStep = false
        /// Tokens and bytes seen since the region began (the `<think>` tag or the stream start).
        var regionTokens = 0
        var regionBytes = 0
        /// Last (longest pattern - 1) bytes of decoded text, so split patterns are seen.
        var tail = Tail()
    }

    /// The last `keep` bytes of a stream, in a word when `keep` ≤ 8 (the default pattern
    /// keeps 2): no array to grow, shift and copy on write for every token of every branch.
    struct Tail: Sendable, Equatable {
        private var bits: UInt64 = 0      // byte i at bits 8i ..< 8i + 8 (keep ≤ 8)
        private var spill: [UInt8] = []   // the bytes themselves (keep > 8)
        private(set) var count = 0

        subscript(i: Int) -> UInt8 { spill.isEmpty ? UInt8(truncatingIfNeeded: bits >> UInt64(8 * i)) : spill[i] }

        /// Appends `bytes` and keeps the last `keep` bytes.
        mutating func append(_ bytes: UnsafeBufferPointer<UInt8>, keep: Int) {
            if keep <= 8 {
                for b in bytes {
                    if count < keep {
                        bits |= UInt64(b) << UInt64(8 * count)
                        count += 1
                    } else {   // the oldest byte out of the low end, the new one in at the top
                        bits = bits >> 8 | UInt64(b) << UInt64(8 * (keep - 1))
                    }
                }
            } else {
                spill.append(contentsOf: bytes)
                if spill.count > keep { spill.removeFirst(spill.count - keep) }
                count = spill.count
            }
        }
    }

    public let patterns: [[UInt8]]
    public let thinkOpenID: Int?
    public let thinkCloseID: Int?
    public let requireThinkTags: Bool
    private let tokenText: @Sendable (Int) -> [UInt8]
    /// Every token's bytes back to back (token t: flatBytes[offsets[t]..<offsets[t + 1]]) when
    /// the table was given up front: observe reads a slice instead of getting an array per token.
    private let flatBytes: [UInt8]
    private let offsets: [Int]
    private let tailLength: Int

    /// - Parameters:
    ///   - patterns: byte strings whose completion ends a step; empty strings are ignored.
    ///   - thinkOpenID / thinkCloseID: ids of `<think>` / `</think>` (read them from the model's tokenizer).
    ///   - requireThinkTags: count steps only after a `<think>` was observed.
    ///   - tokenText: the raw bytes a token decodes to (byte-level BPE bytes, not the vocabulary string).
    public init(patterns: [String] = [".\n\n"], thinkOpenID: Int?, thinkCloseID: Int?,
                requireThinkTags: Bool = false, tokenText: @escaping @Sendable (Int) -> [UInt8]) {
        self.patterns = patterns.map { Array($0.utf8) }.filter { !$0.isEmpty }
        self.thinkOpenID = thinkOpenID
        self.thinkCloseID = thinkCloseID
        self.requireThinkTags = requireThinkTags
        self.tokenText = tokenText
        flatBytes = []
        offsets = []
        tailLength = max(0, (self.patterns.map(\.count).max() ?? 1) - 1)
    }

    /// Same, with every token's bytes given up front (`tokenBytes[id]`); ids outside the
    /// table decode to no bytes. Handy when the tokenizer itself is not `Sendable`.
    public init(patterns: [String] = [".\n\n"], thinkOpenID: Int?, thinkCloseID: Int?,
                requireThinkTags: Bool = false, tokenBytes: [[UInt8]]) {
        self.patterns = patterns.map { Array($0.utf8) }.filter { !$0.isEmpty }
        self.thinkOpenID = thinkOpenID
        self.thinkCloseID = thinkCloseID
        self.requireThinkTags = requireThinkTags
        self.tokenText = { id in id >= 0 && id < tokenBytes.count ? tokenBytes[id] : [] }
        flatBytes = tokenBytes.flatMap { $0 }
        var o = [0]
        o.reserveCapacity(tokenBytes.count + 1)
        for b in tokenBytes { o.append(o[o.count - 1] + b.count) }
        offsets = o
        tailLength = max(0, (self.patterns.map(\.count).max() ?? 1) - 1)
    }

    /// The state at the start of a stream: inside the region when the detector has no
    /// `<think>` id, else before it. Feed prompt tokens through `observe` to prime it
    /// (e.g. a chat template that ends with `<think>\n`).
    public func initialState() -> State {
        State(phase: thinkOpenID == nil ? .inThink : .beforeThink)
    }

    /// Consumes one token; true when it ends a step that should be scored.
    public func observe(_ token: Int, state: inout State) -> Bool {
        if token == thinkOpenID, state.phase == .beforeThink {
            state = State(phase: .inThink)
            return false
        }
        if token == thinkCloseID, state.phase != .afterThink {
            state = State(phase: .afterThink)
            return false
        }
        if state.phase == .afterThink { return false }
        if offsets.isEmpty {
            return tokenText(token).withUnsafeBufferPointer { observe(bytes: $0, state: &state) }
        }
        guard token >= 0 && token + 1 < offsets.count else {   // outside the table: no bytes
            return observe(bytes: UnsafeBufferPointer(start: nil, count: 0), state: &state)
        }
        return flatBytes.withUnsafeBufferPointer { all in
            observe(bytes: UnsafeBufferPointer(rebasing: all[offsets[token]..<offsets[token + 1]]), state: &state)
        }
    }

    /// The rest of `observe` for a token (not a think tag) inside or before the region.
    private func observe(bytes: UnsafeBufferPointer<UInt8>, state: inout State) -> Bool {
        let matchStart = completedMatchStart(tail: state.tail, bytes: bytes)
        // Region offset of the completed occurrence's first byte.
        let startOffset = matchStart.map { state.regionBytes - state.tail.count + $0 }
        let counting = state.phase == .inThink || !requireThinkTags
        let raw = counting && matchStart != nil
        let atRegionStart = state.regionTokens == 0 || startOffset == 0
        let isStep = raw && !state.previousWasStep && !atRegionStart
        state.previousWasStep = raw
        state.regionTokens += 1
        state.regionBytes += bytes.count
        if tailLength > 0 { state.tail.append(bytes, keep: tailLength) }
        return isStep
    }

    /// Indices into `tokens` of the step tokens, replaying `observe` from `state`
    /// (default: `initialState()`). Used to recompute inline scores and for training.
    public func stepPositions(tokens: [Int], from state: State? = nil) -> [Int] {
        var s = state ?? initialState()
        var out: [Int] = []
        for (i, t) in tokens.enumerated() where observe(t, state: &s) { out.append(i) }
        return out
    }

    /// Offset in `tail + bytes` where the last pattern occurrence that ends inside `bytes`
    /// begins, or nil. Occurrences wholly inside `tail` were reported by an earlier token.
    private func completedMatchStart(tail: Tail, bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        if bytes.isEmpty { return nil }
        // Indexes `tail + bytes` in place: this runs for every generated token.
        let total = tail.count + bytes.count
        func byte(_ i: Int) -> UInt8 { i < tail.count ? tail[i] : bytes[i - tail.count] }
        var best: Int? = nil
        for p in patterns where p.count <= total {
            // Occurrence [s, s + p.count) must end after tail: s + p.count > tail.count.
            let lowest = max(0, tail.count - p.count + 1)
            var s = total - p.count
            search: while s >= lowest {
                for k in 0..<p.count where byte(s + k) != p[k] { s -= 1; continue search }
                best = max(best ?? s, s)
                break
            }
        }
        return best
    }
}
