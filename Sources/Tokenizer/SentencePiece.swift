/// SentencePiece vocabularies (Llama 2, Mistral, TinyLlama): pieces spell spaces as "▁"
/// and characters without a piece fall back to `<0xXX>` byte tokens. Two encoders read
/// them: Hugging Face's BPE over merges (tokenizer.json; `BPEModel` with character symbols)
/// and llama.cpp's merge by piece score (GGUF `tokenizer.ggml.model` = "llama"; `SPMModel`).

/// SentencePiece's space marker, U+2581.
let spaceMarker: Unicode.Scalar = "\u{2581}"

/// How token spellings become text: Hugging Face's decoder chain, as far as it changes bytes.
struct DecodeRules: Equatable {
    /// ByteLevel: each spelling character stands for one byte.
    var byteLevel: Bool
    /// Replace(marker → " ") or Metaspace: the marker reads as a space.
    var marker: Unicode.Scalar?
    /// ByteFallback: a `<0xXX>` token is that byte.
    var byteFallback: Bool
    /// Strip(" ", n, 0) after Fuse: up to n spaces are cut from the start of the text.
    var stripLeadingSpaces: Int
    /// Metaspace with a prepend scheme: the first token's markers are dropped, not read as
    /// spaces (SentencePiece pieces hold no literal spaces, so its spaces are those markers).
    var dropFirstTokenSpaces: Bool

    static let byteLevel = DecodeRules(byteLevel: true, marker: nil, byteFallback: false, stripLeadingSpaces: 0,
                                       dropFirstTokenSpaces: false)

    /// llama.cpp's SPM detokenizer read the Hugging Face way: markers are spaces, byte tokens
    /// bytes, and one leading space goes (what the model's tokenizer.json decoder does).
    static let sentencePiece = DecodeRules(byteLevel: false, marker: spaceMarker, byteFallback: true,
                                           stripLeadingSpaces: 1, dropFirstTokenSpaces: false)

    /// The bytes `spelling` decodes to.
    func bytes(of spelling: String) -> [UInt8] {
        if byteLevel { return ByteLevel.decode(spelling) ?? Array(spelling.utf8) }
        if byteFallback, let b = byteToken(spelling) { return [b] }
        guard let marker, spelling.unicodeScalars.contains(marker) else { return Array(spelling.utf8) }
        var out: [UInt8] = []
        for u in spelling.unicodeScalars {
            if u == marker { out.append(0x20) } else { PreTokenizer.appendUTF8(u, to: &out) }
        }
        return out
    }

    /// The byte of a `<0xXX>` spelling (two hex digits, either case), else nil.
    func byteToken(_ spelling: String) -> UInt8? {
        let u = Array(spelling.utf8)
        guard u.count == 6, u[0] == UInt8(ascii: "<"), u[1] == UInt8(ascii: "0"), u[2] == UInt8(ascii: "x"),
              u[5] == UInt8(ascii: ">"), let hi = Self.hex(u[3]), let lo = Self.hex(u[4]) else { return nil }
        return hi << 4 | lo
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }

    /// The spelling of byte `b`'s fallback token: "<0x0A>".
    static func byteTokenSpelling(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [UInt8(ascii: "<"), UInt8(ascii: "0"), UInt8(ascii: "x"),
                                 digits[Int(b >> 4)], digits[Int(b & 15)], UInt8(ascii: ">")], as: UTF8.self)
    }
}

/// Length of the UTF-8 sequence a byte leads (a stray continuation byte counts as one), as
/// llama.cpp splits text into symbols.
@inline(__always)
func utf8Length(_ lead: UInt8) -> Int {
    switch lead >> 4 {
    case 0xC, 0xD: return 2
    case 0xE: return 3
    case 0xF: return 4
    default: return 1
    }
}

/// llama.cpp's SPM tokenizer: the text (spaces already "▁") starts as one symbol per UTF-8
/// character; the adjacent pair whose joined text is a piece with the highest score (the
/// leftmost on ties) is merged until no pair joins into a piece; a symbol that is no piece
/// (a single character) becomes its bytes' `<0xXX>` tokens.
struct SPMModel {
    let vocab: SpellingTable
    /// [vocabulary] piece score by id.
    let scores: [Float]
    /// [256] id of `<0xXX>`, −1 when absent.
    let byteTokens: [Int32]
    /// Stands for a byte without a token (nil: such bytes are dropped).
    let unknownID: Int32?
    /// llama.cpp's `add_space_prefix`: a space before text that starts the input or follows
    /// an added token (applied by the caller, which sees the added tokens).
    let addSpacePrefix: Bool

    /// Appends the ids of `text`.
    func encode(_ text: [UInt8], into out: inout [Int32]) {
        let n = text.count
        guard n > 0 else { return }
        text.withUnsafeBufferPointer { t in
            // Symbols by index: start byte, length (0 once merged away), neighbours (−1: none).
            var start: [Int] = [], length: [Int] = []
            var i = 0
            while i < n {
                let len = min(utf8Length(t[i]), n - i)
                start.append(i)
                length.append(len)
                i += len
            }
            let count = start.count
            var prev = (0..<count).map { $0 - 1 }
            var next = (0..<count).map { $0 + 1 < count ? $0 + 1 : -1 }
            var heap = MinHeap()
            // The pair (left, next[left]) when its text is a piece: keyed so that the smallest
            // key is the highest score, then the leftmost pair.
            func piece(_ left: Int) -> Int32? {
                let right = next[left]
                guard right >= 0 else { return nil }
                let bytes = UnsafeBufferPointer(rebasing: t[start[left]..<(start[right] + length[right])])
                guard let id = vocab.lookup(bytes), Int(id) < scores.count else { return nil }
                return id
            }
            func push(_ left: Int) {
                guard left >= 0, let id = piece(left) else { return }
                heap.push(UInt64(~Self.order(scores[Int(id)])) << 32 | UInt64(left))
            }
            for left in 0..<(count - 1) { push(left) }
            while let top = heap.pop() {
                let left = Int(top & 0xFFFF_FFFF)
                // Stale when the left symbol was merged away or the pair changed: a changed pair
                // that is still a piece was pushed again with its own key.
                guard length[left] > 0, let id = piece(left),
                      UInt32(truncatingIfNeeded: top >> 32) == ~Self.order(scores[Int(id)]) else { continue }
                let right = next[left]
                length[left] += length[right]
                length[right] = 0
                next[left] = next[right]
                if next[right] >= 0 { prev[next[right]] = left }
                push(prev[left])
                push(left)
            }
            var s = 0
            while s >= 0 {
                let bytes = UnsafeBufferPointer(rebasing: t[start[s]..<(start[s] + length[s])])
                if let id = vocab.lookup(bytes) {
                    out.append(id)
                } else {
                    for b in bytes {
                        let id = byteTokens[Int(b)]
                        if id >= 0 { out.append(id) } else if let unk = unknownID { out.append(unk) }
                    }
                }
                s = next[s]
            }
        }
    }

    /// An order-preserving map of floats to unsigned integers.
    @inline(__always)
    static func order(_ f: Float) -> UInt32 {
        let b = f.bitPattern
        return b & 0x8000_0000 != 0 ? ~b : b | 0x8000_0000
    }
}
