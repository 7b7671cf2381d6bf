import Foundation

/// Test-only reader of a GGUF file's key/value metadata (the tokenizer arrays);
/// the engine's real GGUF reader lives in Checkpoint.
struct GGUFMetadata {
    enum Value {
        case int(Int)
        case double(Double)
        case bool(Bool)
        case string(String)
        case array([Value])
    }
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private(set) var values: [String: Value] = [:]

    init(url: URL) throws {
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        var r = Reader(data: data)
        guard try r.bytes(4) == Array("GGUF".utf8) else { throw Failure(description: "\(url.path): not GGUF") }
        let version = try r.u32()
        guard version >= 2 else { throw Failure(description: "\(url.path): GGUF version \(version)") }
        _ = try r.u64()  // tensor count
        let kvCount = try r.u64()
        for _ in 0..<kvCount {
            let key = try r.string()
            let type = try r.u32()
            values[key] = try r.value(type: type)
        }
    }

    func string(_ key: String) -> String? {
        if case let .string(s)? = values[key] { return s }
        return nil
    }
    func int(_ key: String) -> Int? {
        if case let .int(i)? = values[key] { return i }
        return nil
    }
    func strings(_ key: String) throws -> [String] {
        guard case let .array(items)? = values[key] else { throw Failure(description: "no array \(key)") }
        return try items.map { v in
            guard case let .string(s) = v else { throw Failure(description: "\(key) holds non-strings") }
            return s
        }
    }
    func ints(_ key: String) throws -> [Int] {
        guard case let .array(items)? = values[key] else { throw Failure(description: "no array \(key)") }
        return try items.map { v in
            guard case let .int(i) = v else { throw Failure(description: "\(key) holds non-integers") }
            return i
        }
    }

    private struct Reader {
        let data: Data
        var pos: Int

        init(data: Data) {
            self.data = data
            pos = data.startIndex
        }

        mutating func bytes(_ n: Int) throws -> [UInt8] {
            guard n >= 0, pos + n <= data.endIndex else { throw Failure(description: "GGUF truncated") }
            defer { pos += n }
            return [UInt8](data[pos..<(pos + n)])
        }
        mutating func le(_ n: Int) throws -> UInt64 {
            let b = try bytes(n)
            var v: UInt64 = 0
            for (i, x) in b.enumerated() { v |= UInt64(x) << (8 * UInt64(i)) }
            return v
        }
        mutating func u32() throws -> UInt32 { UInt32(try le(4)) }
        mutating func u64() throws -> UInt64 { try le(8) }
        mutating func string() throws -> String {
            let n = try u64()
            guard n < 1 << 31 else { throw Failure(description: "GGUF string too long") }
            return String(decoding: try bytes(Int(n)), as: UTF8.self)
        }
        mutating func value(type: UInt32) throws -> Value {
            switch type {
            case 0: return .int(Int(try le(1)))
            case 1: return .int(Int(Int8(truncatingIfNeeded: try le(1))))
            case 2: return .int(Int(try le(2)))
            case 3: return .int(Int(Int16(truncatingIfNeeded: try le(2))))
            case 4: return .int(Int(try le(4)))
            case 5: return .int(Int(Int32(truncatingIfNeeded: try le(4))))
            case 6: return .double(Double(Float(bitPattern: UInt32(try le(4)))))
            case 7: return .bool(try le(1) != 0)
            case 8: return .string(try string())
            case 9:
                let elementType = try u32()
                let n = try u64()
                guard n < 1 << 28 else { throw Failure(description: "GGUF array too long") }
                var items: [Value] = []
                items.reserveCapacity(Int(n))
                for _ in 0..<n { items.append(try value(type: elementType)) }
                return .array(items)
            case 10: return .int(Int(truncatingIfNeeded: try le(8)))
            case 11: return .int(Int(Int64(bitPattern: try le(8))))
            case 12: return .double(Double(bitPattern: try le(8)))
            default: throw Failure(description: "GGUF value type \(type)")
            }
        }
    }
}
