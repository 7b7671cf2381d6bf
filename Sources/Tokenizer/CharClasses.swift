/// GPT-2's reversible byte ↔ printable-character map: bytes that are printable
/// Latin-1 ('!'...'~', '¡'...'¬', '®'...'ÿ') stand for themselves; the other 68
/// bytes take U+0100, U+0101, ... in byte order. Vocabulary strings are written
/// in these characters.
enum ByteLevel {
    /// [256]: byte → scalar value of its stand-in character.
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if isSelfMapped(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// [324]: scalar value → byte, or -1 where the scalar stands for no byte.
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (b, s) in byteToScalar.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    static func isSelfMapped(_ b: Int) -> Bool {
        (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
    }

    /// The raw bytes a vocabulary string stands for, or nil when some character
    /// is outside the map (then the string is not byte-level encoded).
    static func decode(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.unicodeScalars.count)
        for s in token.unicodeScalars {
            guard s.value < 324 else { return nil }
            let b = scalarToByte[Int(s.value)]
            guard b >= 0 else { return nil }
            out.append(UInt8(b))
        }
        return out
    }

    /// The vocabulary spelling of raw bytes.
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var scalars = String.UnicodeScalarView()
        for b in bytes { scalars.append(Unicode.Scalar(byteToScalar[Int(b)]) ?? "?") }
        return String(scalars)
    }
}

/// The character classes of the split regexes, as Oniguruma (which Hugging Face
/// `tokenizers` uses) defines them on Unicode scalars: \p{L} is general category
/// L*, \p{N} is N*, \s is the White_Space property. (`isAlphabetic` would be
/// wrong: it includes marks and letter-like numbers.)
enum CharClass: UInt8 {
    case letter, number, space, other

    /// [128]: classes of ASCII, which is most text.
    private static let ascii: [CharClass] = (0..<128).map { v in
        let s = Unicode.Scalar(UInt8(v))
        return slow(s)
    }

    @inline(__always)
    static func of(_ s: Unicode.Scalar) -> CharClass {
        s.value < 128 ? ascii[Int(s.value)] : slow(s)
    }

    private static func slow(_ s: Unicode.Scalar) -> CharClass {
        if s.properties.isWhitespace { return .space }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }
}
