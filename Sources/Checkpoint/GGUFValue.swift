/// One GGUF metadata value. Integers keep their signedness; float32 widens to Double.
public indirect enum GGUFValue: Sendable, Equatable {
    case uint(UInt64)
    case int(Int64)
    case float(Double)
    case bool(Bool)
    case string(String)
    case array([GGUFValue])

    /// The value as an Int when it is an integer that fits.
    public var intValue: Int? {
        switch self {
        case .uint(let v): return v <= UInt64(Int.max) ? Int(v) : nil
        case .int(let v): return Int(v)
        default: return nil
        }
    }

    /// Integers and floats as Double.
    public var doubleValue: Double? {
        switch self {
        case .float(let v): return v
        case .uint(let v): return Double(v)
        case .int(let v): return Double(v)
        default: return nil
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var arrayValue: [GGUFValue]? { if case .array(let a) = self { return a }; return nil }
}

/// GGUF metadata value type ids (gguf_type) and their fixed sizes.
enum GGUFValueType: UInt32 {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6
    case bool = 7, string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Fewest bytes one value of this type occupies (strings: the 8-byte length; arrays: type + count).
    var minSize: Int {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64, .string: return 8
        case .array: return 12
        }
    }
}

extension ByteReader {
    /// A length-prefixed (u64) GGUF string.
    mutating func ggufString(_ what: @autoclosure () -> String) throws(CheckpointError) -> String {
        let n64 = try u64(what())
        guard let n = Checked.int(n64), n <= remaining else { throw .truncated(path: path, what: what()) }
        return try string(n, what())
    }

    /// One metadata value of type `type`. Nested arrays are allowed up to a small depth so a
    /// hostile file cannot exhaust the stack; counts are checked against the bytes left
    /// before anything is allocated.
    mutating func ggufValue(_ type: GGUFValueType, key: String, depth: Int = 0) throws(CheckpointError) -> GGUFValue {
        func what() -> String { "value of '\(key)'" }
        switch type {
        case .uint8: return .uint(UInt64(try u8(what())))
        case .int8: return .int(Int64(Int8(bitPattern: try u8(what()))))
        case .uint16: return .uint(UInt64(try u16(what())))
        case .int16: return .int(Int64(Int16(bitPattern: try u16(what()))))
        case .uint32: return .uint(UInt64(try u32(what())))
        case .int32: return .int(Int64(Int32(bitPattern: try u32(what()))))
        case .uint64: return .uint(try u64(what()))
        case .int64: return .int(Int64(bitPattern: try u64(what())))
        case .float32: return .float(Double(Float(bitPattern: try u32(what()))))
        case .float64: return .float(Double(bitPattern: try u64(what())))
        case .bool:
            let b = try u8(what())
            guard b <= 1 else { throw .malformed(path: path, what: "\(what()): bool byte \(b)") }
            return .bool(b == 1)
        case .string: return .string(try ggufString(what()))
        case .array:
            guard depth < 8 else { throw .malformed(path: path, what: "\(what()): arrays nested deeper than 8") }
            let raw = try u32(what())
            guard let elemType = GGUFValueType(rawValue: raw) else {
                throw .malformed(path: path, what: "\(what()): unknown array element type \(raw)")
            }
            let count64 = try u64(what())
            guard let count = Checked.int(count64), let least = Checked.mul(count, elemType.minSize), least <= remaining else {
                throw .truncated(path: path, what: "\(what()): array of \(count64) elements")
            }
            var out: [GGUFValue] = []
            out.reserveCapacity(count)
            if elemType == .string {
                // Tokenizer vocabularies: 50k-150k strings; keep this loop tight.
                for _ in 0..<count {
                    let n64 = try u64(what())
                    guard let n = Checked.int(n64), n <= remaining else { throw .truncated(path: path, what: what()) }
                    out.append(.string(try string(n, what())))
                }
            } else {
                for _ in 0..<count { out.append(try ggufValue(elemType, key: key, depth: depth + 1)) }
            }
            return .array(out)
        }
    }
}
