/// Recursive descent over raw bytes. `pos` only moves forward, and every read
/// `bytes[pos]` sits behind an explicit `pos < bytes.count` (the raw buffer's own
/// check is compiled out under -O).
struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    let maxDepth: Int
    var pos = 0

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    func fail(_ reason: String) -> JSONError { JSONError(offset: pos, reason: reason) }

    mutating func skipSpace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    /// One value starting at `pos` (no leading whitespace); `depth` containers enclose it.
    /// Inlined into `array` and `object` so their elements dispatch without a call.
    @inline(__always)
    mutating func value(depth: Int) throws(JSONError) -> JSON {
        guard pos < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONError) {
        let n = word.utf8CodeUnitCount
        guard bytes.count - pos >= n else { throw fail("unexpected end of input") }
        for k in 0..<n where bytes[pos + k] != word.utf8Start[k] { throw fail("unexpected character") }
        pos += n
    }

    mutating func object(depth: Int) throws(JSONError) -> JSON {
        guard depth < maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
        pos += 1  // {
        var fields: [JSONField] = []
        skipSpace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(fields) }
        while true {
            skipSpace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let key = try string()
            skipSpace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            pos += 1
            skipSpace()
            fields.append(JSONField(key: key, value: try value(depth: depth + 1)))
            skipSpace()
            guard pos < bytes.count else { throw fail("unexpected end of input") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(fields) }
            throw fail("expected ',' or '}'")
        }
    }

    mutating func array(depth: Int) throws(JSONError) -> JSON {
        guard depth < maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
        pos += 1  // [
        var items: [JSON] = []
        skipSpace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
        while true {
            skipSpace()
            items.append(try value(depth: depth + 1))
            skipSpace()
            guard pos < bytes.count else { throw fail("unexpected end of input") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
            throw fail("expected ',' or ']'")
        }
    }

    private func isDigit(at i: Int) -> Bool { i < bytes.count && bytes[i] &- 0x30 < 10 }

    /// RFC 8259 grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    /// Integers of up to 18 digits are accumulated in an Int (no overflow possible) and
    /// rounded once to Double, so every integer below 2^53 comes out exact; anything
    /// else goes through Swift's correctly rounded Double(String).
    mutating func number() throws(JSONError) -> Double {
        let start = pos
        let negative = bytes[pos] == UInt8(ascii: "-")
        if negative { pos += 1 }
        guard isDigit(at: pos) else { throw fail("expected a digit") }
        var magnitude = 0
        let digitsStart = pos
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
        } else {
            while isDigit(at: pos) {
                if pos - digitsStart < 18 { magnitude = magnitude * 10 + Int(bytes[pos] &- 0x30) }
                pos += 1
            }
        }
        var integral = pos - digitsStart <= 18
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            integral = false
            pos += 1
            guard isDigit(at: pos) else { throw fail("expected a digit after '.'") }
            while isDigit(at: pos) { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] | 0x20 == UInt8(ascii: "e") {
            integral = false
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard isDigit(at: pos) else { throw fail("expected a digit in the exponent") }
            while isDigit(at: pos) { pos += 1 }
        }
        if integral { return negative ? -Double(magnitude) : Double(magnitude) }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        guard let d = Double(text), d.isFinite else {
            pos = start
            throw fail("number out of range")
        }
        return d
    }

    /// A string starting at its opening quote. Raw control characters, invalid UTF-8
    /// and unpaired surrogate escapes are errors (not silently replaced with U+FFFD).
    /// Multi-byte sequences are validated where the scan meets them, so the bytes that
    /// reach `String(decoding:)` are well-formed and no second pass is needed.
    mutating func string() throws(JSONError) -> String {
        pos += 1  // opening quote
        let start = pos
        // Fast path: no escapes, the string is a slice of the input.
        while pos < bytes.count {
            let b = bytes[pos]
            // Ordered so the common bytes (lower-case letters, then other printable
            // ASCII, then 2-byte sequences like byte-level BPE's "Ġ") decide earliest.
            if b > UInt8(ascii: "\\") && b < 0x80 { pos += 1; continue }
            if b >= 0x80 {
                if b >= 0xC2, b <= 0xDF, pos + 1 < bytes.count, bytes[pos + 1] & 0xC0 == 0x80 { pos += 2; continue }
                pos += try utf8SequenceLength()
                continue
            }
            if b > UInt8(ascii: "\"") && b != UInt8(ascii: "\\") { pos += 1; continue }
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
                pos += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw fail("control character in string") }
            pos += 1
        }
        var out = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<pos]))
        while true {
            guard pos < bytes.count else { throw fail("unterminated string") }
            let b = bytes[pos]
            if b >= 0x80 {
                let n = try utf8SequenceLength()
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[pos..<pos + n]))
                pos += n
                continue
            }
            if b == UInt8(ascii: "\"") { pos += 1; return String(decoding: out, as: UTF8.self) }
            if b < 0x20 { throw fail("control character in string") }
            pos += 1
            if b != UInt8(ascii: "\\") { out.append(b); continue }
            guard pos < bytes.count else { throw fail("unterminated string") }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"): UTF8.encode(try unicodeEscape()) { out.append($0) }
            default:
                pos -= 2
                throw fail("bad escape")
            }
        }
    }

    /// Length of the well-formed multi-byte UTF-8 sequence at `pos` (a byte >= 0x80),
    /// per RFC 3629: no overlong forms, surrogates or scalars past U+10FFFF.
    @inline(never)  // off the hot loop; most non-ASCII in vocabularies is 2-byte and handled inline
    func utf8SequenceLength() throws(JSONError) -> Int {
        // Continuation bytes needed, and the allowed range of the first one.
        var need = 3, lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch bytes[pos] {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; hi = 0x9F
        case 0xF0: lo = 0x90
        case 0xF1...0xF3: break
        case 0xF4: hi = 0x8F
        default: throw fail("invalid UTF-8 in string")
        }
        guard bytes.count - pos > need, bytes[pos + 1] >= lo, bytes[pos + 1] <= hi else {
            throw fail("invalid UTF-8 in string")
        }
        var k = 2
        while k <= need {
            guard bytes[pos + k] & 0xC0 == 0x80 else { throw fail("invalid UTF-8 in string") }
            k += 1
        }
        return need + 1
    }

    /// The scalar of a \uXXXX escape (`pos` just after the 'u'), joining a surrogate pair.
    mutating func unicodeEscape() throws(JSONError) -> Unicode.Scalar {
        let escapeStart = pos - 2
        let unit = try hex4()
        if unit & 0xFC00 == 0xD800 {
            guard bytes.count - pos >= 2, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                pos = escapeStart
                throw fail("high surrogate escape without a low one")
            }
            pos += 2
            let low = try hex4()
            guard low & 0xFC00 == 0xDC00 else {
                pos = escapeStart
                throw fail("high surrogate escape without a low one")
            }
            let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            return Unicode.Scalar(code) ?? "\u{FFFD}"  // always valid: code is in 0x10000...0x10FFFF
        }
        guard let scalar = Unicode.Scalar(unit) else {
            pos = escapeStart
            throw fail("low surrogate escape without a high one")
        }
        return scalar
    }

    mutating func hex4() throws(JSONError) -> UInt32 {
        guard bytes.count - pos >= 4 else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[pos]
            let d: UInt32
            switch b {
            case 0x30...0x39: d = UInt32(b - 0x30)
            case 0x41...0x46: d = UInt32(b - 0x41 + 10)
            case 0x61...0x66: d = UInt32(b - 0x61 + 10)
            default: throw fail("bad \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }
}
