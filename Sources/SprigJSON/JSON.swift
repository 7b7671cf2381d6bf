/// A parsed JSON document: the one parser behind safetensors headers and index files
/// (Checkpoint) and tokenizer.json / tokenizer_config.json (Tokenizer).
///
/// Built for hostile input (no traps: every read is bounds-checked, nesting is
/// limited, numbers and strings are validated against RFC 8259, invalid UTF-8 and
/// unpaired surrogate escapes are rejected rather than repaired) and for speed
/// (tokenizer.json holds ~300k strings; no Foundation, no `Any` bridging).
public enum JSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    /// Fields in file order, duplicates kept (callers that care reject them).
    case object([JSONField])

    /// Parses one JSON value filling all of `bytes` (surrounding whitespace allowed).
    /// - Parameter maxDepth: most arrays/objects that may nest inside each other, in 0...1024
    ///   (parsing recurses once per level, so this bounds stack use).
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 64) throws(JSONError) -> JSON {
        precondition((0...1024).contains(maxDepth), "JSON.parse: maxDepth \(maxDepth) outside 0...1024")
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        if parser.pos != bytes.count { throw parser.fail("trailing characters after the value") }
        return value
    }

    /// The first field named `key` of an object; nil for a missing key or a non-object.
    /// A linear search: objects looked up by key are small (vocabularies are iterated).
    public subscript(key: String) -> JSON? {
        guard case let .object(fields) = self else { return nil }
        for field in fields where field.key == key { return field.value }
        return nil
    }

    public var string: String? { if case let .string(s) = self { return s }; return nil }
    public var array: [JSON]? { if case let .array(a) = self { return a }; return nil }
    public var object: [JSONField]? { if case let .object(o) = self { return o }; return nil }
    public var bool: Bool? { if case let .bool(b) = self { return b }; return nil }
    public var number: Double? { if case let .number(d) = self { return d }; return nil }
    public var isNull: Bool { if case .null = self { return true }; return false }

    /// An integral number with |n| < 2^53, else nil. Below 2^53 every integer is a
    /// Double exactly, so the value is the one written in the file (2^53 itself is
    /// excluded: 9007199254740993 also parses to it).
    public var int: Int? {
        guard case let .number(d) = self, d == d.rounded(), abs(d) < 9_007_199_254_740_992 else { return nil }
        return Int(d)
    }
}

/// One member of a JSON object.
public struct JSONField: Equatable, Sendable {
    public let key: String
    public let value: JSON

    public init(key: String, value: JSON) {
        self.key = key
        self.value = value
    }
}

/// Why a document is not JSON: `offset` is the byte where parsing stopped,
/// `reason` a short phrase ("expected ':'", "invalid UTF-8 in string", ...).
public struct JSONError: Error, CustomStringConvertible, Equatable, Sendable {
    public let offset: Int
    public let reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}
