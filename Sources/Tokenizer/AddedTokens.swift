/// A token matched verbatim in text before BPE (Hugging Face's AddedToken).
public struct AddedToken: Sendable, Equatable {
    public var id: Int
    public var content: String
    /// Special tokens are control tokens (`<|im_end|>`); others are plain added words (`<tool_call>`).
    public var special: Bool
    /// Also swallow whitespace to the left / right of the token.
    public var lstrip: Bool
    public var rstrip: Bool
    /// Match only when not inside a word.
    public var singleWord: Bool
    /// Matched in normalised text (true) or in the raw input (false).
    public var normalized: Bool

    public init(id: Int, content: String, special: Bool, lstrip: Bool = false, rstrip: Bool = false,
                singleWord: Bool = false, normalized: Bool = false) {
        self.id = id
        self.content = content
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.singleWord = singleWord
        self.normalized = normalized
    }
}

/// A piece of input after added-token matching.
enum Segment {
    case text(Substring)
    case token(Int)
}

/// Leftmost-longest matcher over a set of added tokens, on UTF-8 bytes.
struct AddedTokenMatcher {
    private let tokens: [AddedToken]
    private let contents: [[UInt8]]
    /// [256]: indices into `tokens` whose content starts with this byte, longest first.
    private let byFirstByte: [[Int]]

    init(_ tokens: [AddedToken]) {
        self.tokens = tokens
        let utf8 = tokens.map { Array($0.content.utf8) }
        var table = [[Int]](repeating: [], count: 256)
        for (i, c) in utf8.enumerated() where !c.isEmpty { table[Int(c[0])].append(i) }
        for b in 0..<256 {
            table[b].sort { (utf8[$0].count, $1) > (utf8[$1].count, $0) }
        }
        contents = utf8
        byFirstByte = table
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// Splits `text` into token matches and the text between them.
    func split(_ text: Substring, into out: inout [Segment]) {
        if tokens.isEmpty || text.isEmpty {
            if !text.isEmpty { out.append(.text(text)) }
            return
        }
        let utf8 = Array(text.utf8)
        let base = text.utf8.startIndex
        func slice(_ a: Int, _ b: Int) -> Substring {
            let lo = text.utf8.index(base, offsetBy: a)
            let hi = text.utf8.index(base, offsetBy: b)
            return text[lo..<hi]
        }
        var startOffset = 0  // end of the last emitted token
        var pos = 0
        while pos < utf8.count {
            guard let t = longestMatch(utf8, at: pos) else {
                pos += 1
                continue
            }
            var start = pos
            var stop = pos + contents[t].count
            let token = tokens[t]
            if token.singleWord {
                let before = start == 0 || !Self.isWordChar(lastScalar(utf8, before: start))
                let after = stop == utf8.count || !Self.isWordChar(firstScalar(utf8, at: stop))
                if !before || !after {
                    pos += 1
                    continue
                }
            }
            if token.lstrip {
                var s = start
                while s > startOffset, let prev = lastScalarStart(utf8, before: s),
                      decodeScalar(utf8, at: prev).properties.isWhitespace {
                    s = prev
                }
                start = s
            }
            if token.rstrip {
                while stop < utf8.count {
                    let s = decodeScalar(utf8, at: stop)
                    guard s.properties.isWhitespace else { break }
                    stop += String(s).utf8.count
                }
            }
            if startOffset < start { out.append(.text(slice(startOffset, start))) }
            out.append(.token(token.id))
            startOffset = stop
            pos = max(stop, pos + contents[t].count)
        }
        if startOffset < utf8.count { out.append(.text(slice(startOffset, utf8.count))) }
    }

    private func longestMatch(_ utf8: [UInt8], at pos: Int) -> Int? {
        for t in byFirstByte[Int(utf8[pos])] {
            let c = contents[t]
            guard pos + c.count <= utf8.count else { continue }
            var ok = true
            for k in 1..<c.count where utf8[pos + k] != c[k] {
                ok = false
                break
            }
            if ok { return t }
        }
        return nil
    }

    /// Word characters for `single_word`: the regex class `\w` in Unicode mode
    /// (Alphabetic, marks, decimal digits, connector punctuation, join controls),
    /// which is what Hugging Face checks; e.g. `_` and U+0301 are word characters, `²` is not.
    private static func isWordChar(_ s: Unicode.Scalar) -> Bool {
        let p = s.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    private func lastScalarStart(_ utf8: [UInt8], before i: Int) -> Int? {
        var j = i - 1
        while j > 0 && utf8[j] & 0xC0 == 0x80 { j -= 1 }
        return j >= 0 ? j : nil
    }

    private func lastScalar(_ utf8: [UInt8], before i: Int) -> Unicode.Scalar {
        guard let j = lastScalarStart(utf8, before: i) else { return " " }
        return decodeScalar(utf8, at: j)
    }

    private func firstScalar(_ utf8: [UInt8], at i: Int) -> Unicode.Scalar {
        decodeScalar(utf8, at: i)
    }

    /// The scalar whose UTF-8 starts at i (input is valid UTF-8: it came from a String).
    private func decodeScalar(_ utf8: [UInt8], at i: Int) -> Unicode.Scalar {
        var it = utf8[i...].makeIterator()
        var decoder = UTF8()
        if case let .scalarValue(s) = decoder.decode(&it) { return s }
        return "\u{FFFD}"
    }
}
