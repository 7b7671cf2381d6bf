import Foundation

/// A parsed JSON value. tokenizer.json files hold ~300k strings, so this small
/// byte-level parser avoids Foundation's `Any` bridging and reports where a
/// malformed file breaks.
enum JSON {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    /// Fields in file order (objects are only searched when small, so no hashing).
    case object([JSONField])

    subscript(key: String) -> JSON? {
        if case let .object(fields) = self { return fields.first { $0.key == key }?.value }
        return nil
    }
    var string: String? { if case let .string(s) = self { return s }; return nil }
    var array: [JSON]? { if case let .array(a) = self { return a }; return nil }
    var object: [JSONField]? { if case let .object(o) = self { return o }; return nil }
    var bool: Bool? { if case let .bool(b) = self { return b }; return nil }
    var isNull: Bool { if case .null = self { return true }; return false }
    /// Integral numbers only (ids, ranks).
    var int: Int? {
        if case let .number(d) = self, d == d.rounded(), abs(d) < 9e15 { return Int(d) }
        return nil
    }

    static func parse(_ data: Data, path: String) throws(TokenizerError) -> JSON {
        let result: Result<JSON, TokenizerError> = data.withUnsafeBytes { raw in
            var parser = JSONParser(bytes: raw.bindMemory(to: UInt8.self), path: path)
            do {
                parser.skipSpace()
                let value = try parser.value(depth: 0)
                parser.skipSpace()
                if parser.pos != parser.bytes.count { throw parser.fail("trailing characters") }
                return .success(value)
            } catch let error as TokenizerError {
                return .failure(error)
            } catch {
                return .failure(.invalidJSON(path: path, offset: parser.pos, reason: "\(error)"))
            }
        }
        return try result.get()
    }
}

struct JSONField {
    let key: String
    let value: JSON
}

private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let path: String
    var pos = 0

    init(bytes: UnsafeBufferPointer<UInt8>, path: String) {
        self.bytes = bytes
        self.path = path
    }

    func fail(_ reason: String) -> TokenizerError {
        .invalidJSON(path: path, offset: pos, reason: reason)
    }

    mutating func skipSpace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws(TokenizerError) -> JSON {
        guard depth < 512 else { throw fail("nesting deeper than 512") }
        guard pos < bytes.count else { throw fail("unexpected end of file") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return try number()
        }
    }

    mutating func literal(_ word: String) throws(TokenizerError) {
        let utf8 = Array(word.utf8)
        guard pos + utf8.count <= bytes.count else { throw fail("unexpected end of file") }
        for i in 0..<utf8.count where bytes[pos + i] != utf8[i] { throw fail("unexpected character") }
        pos += utf8.count
    }

    mutating func object(depth: Int) throws(TokenizerError) -> JSON {
        pos += 1
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
            guard pos < bytes.count else { throw fail("unexpected end of file") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(fields) }
            throw fail("expected ',' or '}'")
        }
    }

    mutating func array(depth: Int) throws(TokenizerError) -> JSON {
        pos += 1
        var items: [JSON] = []
        skipSpace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
        while true {
            skipSpace()
            items.append(try value(depth: depth + 1))
            skipSpace()
            guard pos < bytes.count else { throw fail("unexpected end of file") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
            throw fail("expected ',' or ']'")
        }
    }

    mutating func number() throws(TokenizerError) -> JSON {
        let start = pos
        while pos < bytes.count, Self.isNumberByte(bytes[pos]) { pos += 1 }
        guard pos > start else { throw fail("unexpected character") }
        // Fast path for plain integers, which is nearly every number in a tokenizer file.
        var intValue = 0
        var negative = false
        var plain = true
        for i in start..<pos {
            let b = bytes[i]
            if i == start, b == UInt8(ascii: "-") { negative = true; continue }
            guard b >= 48, b <= 57, intValue < 100_000_000_000_000 else { plain = false; break }
            intValue = intValue * 10 + Int(b - 48)
        }
        if plain, pos - start > (negative ? 1 : 0) { return .number(Double(negative ? -intValue : intValue)) }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        guard let d = Double(text) else { throw fail("bad number \(text)") }
        return .number(d)
    }

    static func isNumberByte(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+") || b == UInt8(ascii: ".")
            || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
    }

    mutating func string() throws(TokenizerError) -> String {
        pos += 1  // opening quote
        let start = pos
        // Fast path: no escapes.
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
                pos += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw fail("control character in string") }
            pos += 1
        }
        var out = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<pos]))
        while true {
            guard pos < bytes.count else { throw fail("unterminated string") }
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") { pos += 1; break }
            if b < 0x20 { throw fail("control character in string") }
            if b != UInt8(ascii: "\\") { out.append(b); pos += 1; continue }
            pos += 1
            guard pos < bytes.count else { throw fail("unterminated escape") }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    if pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") {
                        pos += 2
                        let low = try hex4()
                        if (0xDC00..<0xE000).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            appendScalar(0xFFFD, to: &out)
                            code = low
                        }
                    } else {
                        code = 0xFFFD
                    }
                } else if (0xDC00..<0xE000).contains(code) {
                    code = 0xFFFD
                }
                appendScalar(code, to: &out)
            default:
                throw fail("bad escape")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func hex4() throws(TokenizerError) -> UInt32 {
        guard pos + 4 <= bytes.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[pos]
            let d: UInt32
            switch b {
            case 48...57: d = UInt32(b - 48)
            case 65...70: d = UInt32(b - 55)
            case 97...102: d = UInt32(b - 87)
            default: throw fail("bad \\u escape")
            }
            v = v * 16 + d
            pos += 1
        }
        return v
    }

    func appendScalar(_ code: UInt32, to out: inout [UInt8]) {
        let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
        out.append(contentsOf: String(scalar).utf8)
    }
}
