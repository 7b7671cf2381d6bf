/// Decodes a stream of token ids into text, emitting only complete UTF-8: a
/// character whose bytes are split across tokens is held until its last byte
/// arrives. The concatenated output equals `decode` of all ids once `finish()`
/// has flushed the tail.
public struct StreamingDecoder {
    private let tokenizer: BPETokenizer
    /// Bytes of an incomplete but so far valid UTF-8 sequence (at most 3).
    private var pending: [UInt8] = []
    /// Leading spaces still to cut (a SentencePiece decoder's Strip), until other text comes.
    private var stripSpaces: Int
    private var first = true
    /// A run of byte-fallback tokens' bytes, held whole: under a ByteFallback decoder the
    /// run is text only if all of it is valid UTF-8 (`BPETokenizer.appendByteRun`).
    private var run: [UInt8] = []

    public init(tokenizer: BPETokenizer) {
        self.tokenizer = tokenizer
        stripSpaces = tokenizer.decoding.stripLeadingSpaces
    }

    /// The text completed by token `id` (may be empty).
    public mutating func append(_ id: Int) -> String {
        absorb(id)
        return emit()
    }

    /// The text completed by `ids` in order: the same text as appending them one by one,
    /// made with one conversion instead of one per token.
    public mutating func append(contentsOf ids: ArraySlice<Int>) -> String {
        // After the first token and the Strip, a decoder without byte runs just appends bytes.
        var rest = ids
        while let id = rest.first, first || stripSpaces > 0 || tokenizer.decodesByteRuns {
            absorb(id)
            rest = rest.dropFirst()
        }
        tokenizer.appendBytes(of: rest, to: &pending)
        return emit()
    }

    /// Token `id`'s bytes into `pending` (a byte token into the held run), with the
    /// first-token and Strip rules.
    private mutating func absorb(_ id: Int) {
        if let b = tokenizer.fallbackByte(id) {
            run.append(b)
            first = false
            return
        }
        BPETokenizer.appendByteRun(&run, to: &pending)
        if first && tokenizer.decoding.dropFirstTokenSpaces {
            pending += tokenizer.tokenBytes(id).filter { $0 != 0x20 }
        } else {
            tokenizer.appendBytes(id, to: &pending)
        }
        first = false
        stripLeadingSpaces()
    }

    /// The complete characters of `pending`, removed from it.
    private mutating func emit() -> String {
        let cut = pending.count - Self.incompleteTailLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    public mutating func append(contentsOf ids: [Int]) -> String { append(contentsOf: ids[...]) }

    /// Whatever is held back, with an unfinished character as U+FFFD.
    public mutating func finish() -> String {
        if !run.isEmpty {
            BPETokenizer.appendByteRun(&run, to: &pending)
            stripLeadingSpaces()
        }
        defer { pending.removeAll() }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }

    /// A SentencePiece decoder's Strip: leading spaces cut until other text comes.
    private mutating func stripLeadingSpaces() {
        guard stripSpaces > 0 else { return }
        let spaces = min(stripSpaces, pending.prefix { $0 == 0x20 }.count)
        pending.removeFirst(spaces)
        stripSpaces = pending.isEmpty ? stripSpaces - spaces : 0
    }

    /// Length of the suffix of `bytes` that is a proper prefix of a valid UTF-8
    /// sequence (0 when the bytes end on a character boundary or in invalid bytes).
    static func incompleteTailLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        var p = n - 1
        // The lead byte is at most 3 bytes back (a 4-byte sequence missing one byte).
        while p >= 0 && p >= n - 3 && bytes[p] & 0xC0 == 0x80 { p -= 1 }
        guard p >= 0, p >= n - 3 else { return 0 }
        let lead = bytes[p]
        let need: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: need = 2
        case 0xE0: need = 3; secondRange = 0xA0...0xBF
        case 0xED: need = 3; secondRange = 0x80...0x9F
        case 0xE1...0xEF: need = 3
        case 0xF0: need = 4; secondRange = 0x90...0xBF
        case 0xF4: need = 4; secondRange = 0x80...0x8F
        case 0xF1...0xF3: need = 4
        default: return 0
        }
        let have = n - p
        guard have < need else { return 0 }
        if have >= 2 && !secondRange.contains(bytes[p + 1]) { return 0 }
        return have
    }
}
