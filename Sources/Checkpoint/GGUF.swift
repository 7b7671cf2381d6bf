/// A GGUF (v2/v3) model file: metadata key/values plus tensors whose bytes are views
/// into the mapping. Every count, length and offset is checked against the file size
/// with overflow-checked arithmetic, so a corrupt file throws instead of trapping.
///
/// Layout: "GGUF" | u32 version | u64 tensorCount | u64 kvCount | kv* | tensorInfo* |
/// padding to `general.alignment` (default 32) | data. tensorInfo = string name | u32 nDims |
/// u64 ne[nDims] (innermost first) | u32 ggml type | u64 offset (relative to data, aligned).
public final class GGUFFile: TensorStore {
    public let path: String
    public let file: MappedFile
    public let version: Int
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Byte offset of the data section in the file.
    public let dataOffset: Int
    public let alignment: Int
    /// Tensors of a ggml type Sprig does not compute with: name -> type name (e.g. "q6_K").
    public let unsupportedTensors: [String: String]
    /// Tensor names in file order (supported types only).
    public let orderedTensorNames: [String]
    private let views: [String: TensorView]

    public var tensorNames: [String] { views.keys.sorted() }
    public func tensor(_ name: String) -> TensorView? { views[name] }

    public func require(_ name: String) throws(CheckpointError) -> TensorView {
        if let v = views[name] { return v }
        if let t = unsupportedTensors[name] { throw .unsupportedType(path: path, tensor: name, typeName: t) }
        throw .missingTensor(path: path, name: name)
    }

    public convenience init(path: String) throws(CheckpointError) {
        try self.init(file: try MappedFile(path: path))
    }

    public init(file: MappedFile) throws(CheckpointError) {
        self.file = file
        let path = file.path
        self.path = path
        var r = ByteReader(file.bytes, path: path)
        let magic = try r.u32("magic")
        guard magic == 0x4655_4747 else { throw .malformed(path: path, what: "not a GGUF file (bad magic)") }
        let v = try r.u32("version")
        guard v == 2 || v == 3 else {
            if v.byteSwapped == 2 || v.byteSwapped == 3 { throw .unsupported(path: path, what: "big-endian GGUF") }
            throw .unsupported(path: path, what: "GGUF version \(v) (only 2 and 3 are read)")
        }
        version = Int(v)
        let tensorCount64 = try r.u64("tensor count")
        let kvCount64 = try r.u64("metadata count")
        // Each kv needs >= 13 bytes and each tensor info >= 24, so larger counts cannot fit.
        guard let kvCount = Checked.int(kvCount64), kvCount <= r.remaining / 13 else {
            throw .truncated(path: path, what: "\(kvCount64) metadata entries")
        }
        guard let tensorCount = Checked.int(tensorCount64), tensorCount <= r.remaining / 24 else {
            throw .truncated(path: path, what: "\(tensorCount64) tensor infos")
        }

        var meta: [String: GGUFValue] = [:]
        meta.reserveCapacity(kvCount)
        var keys: [String] = []
        for i in 0..<kvCount {
            let key = try r.ggufString("metadata key #\(i)")
            let raw = try r.u32("type of '\(key)'")
            guard let type = GGUFValueType(rawValue: raw) else {
                throw .malformed(path: path, what: "metadata '\(key)' has unknown value type \(raw)")
            }
            let value = try r.ggufValue(type, key: key)
            guard meta.updateValue(value, forKey: key) == nil else {
                throw .malformed(path: path, what: "metadata key '\(key)' appears twice")
            }
            keys.append(key)
        }
        metadata = meta
        metadataKeys = keys

        var align = 32
        if let a = meta["general.alignment"] {
            guard case .uint(let u) = a, u > 0, u <= 1 << 30, u & (u - 1) == 0 else {
                throw .malformed(path: path, what: "general.alignment must be a power of two")
            }
            align = Int(u)
        }
        alignment = align

        struct Info { let name: String; let typeID: UInt32; let ne: [Int]; let offset: Int }
        var infos: [Info] = []
        infos.reserveCapacity(tensorCount)
        for i in 0..<tensorCount {
            let name = try r.ggufString("name of tensor #\(i)")
            let nDims = try r.u32("dimension count of '\(name)'")
            guard nDims <= 4 else { throw .malformed(path: path, what: "tensor '\(name)' has \(nDims) dimensions (at most 4)") }
            var ne: [Int] = []
            for _ in 0..<nDims {
                let d = Int64(bitPattern: try r.u64("shape of '\(name)'"))
                guard d >= 0 else { throw .malformed(path: path, what: "tensor '\(name)' has a negative dimension") }
                ne.append(Int(d))
            }
            let typeID = try r.u32("type of '\(name)'")
            let off64 = try r.u64("offset of '\(name)'")
            guard let off = Checked.int(off64) else { throw .outOfRange(path: path, tensor: name) }
            infos.append(Info(name: name, typeID: typeID, ne: ne, offset: off))
        }

        // Data section starts at the next multiple of `align` (it may be empty, e.g. vocab-only files).
        let end = r.offset
        guard let padded = Checked.add(end, align - 1) else { throw .truncated(path: path, what: "data section") }
        let dataStart = padded / align * align
        guard dataStart <= file.bytes.count || infos.isEmpty else { throw .truncated(path: path, what: "data section") }
        dataOffset = dataStart
        let dataCount = max(0, file.bytes.count - dataStart)

        var views: [String: TensorView] = [:]
        var unsupported: [String: String] = [:]
        var ordered: [String] = []
        for info in infos {
            let name = info.name
            guard views[name] == nil, unsupported[name] == nil else {
                throw .malformed(path: path, what: "tensor '\(name)' appears twice")
            }
            guard let elems = Checked.product(info.ne) else { throw .outOfRange(path: path, tensor: name) }
            let t = GGMLType(id: info.typeID)
            guard let layout = t.layout else {
                unsupported[name] = t.name  // size unknown: cannot range-check, never handed out
                continue
            }
            let rowLen = info.ne.first ?? 1
            guard rowLen % layout.blockElements == 0 else {
                throw .malformed(path: path, what: "tensor '\(name)' rows of \(rowLen) are not whole \(t.name) blocks")
            }
            guard info.offset % align == 0 else {
                throw .malformed(path: path, what: "tensor '\(name)' offset \(info.offset) is not \(align)-aligned")
            }
            guard let size = Checked.mul(elems / layout.blockElements, layout.blockBytes),
                  let stop = Checked.add(info.offset, size), stop <= dataCount else {
                throw .outOfRange(path: path, tensor: name)
            }
            guard let type = t.tensorType else { unsupported[name] = t.name; continue }
            let base = dataStart + info.offset
            let data = UnsafeRawBufferPointer(rebasing: file.bytes[base..<(base + size)])
            views[name] = TensorView(name: name, type: type, shape: info.ne.reversed(), data: data, file: file)
            ordered.append(name)
        }
        self.views = views
        unsupportedTensors = unsupported
        orderedTensorNames = ordered
    }

    // MARK: typed metadata access (nil when absent or of another type)

    public func string(_ key: String) -> String? { metadata[key]?.stringValue }
    public func int(_ key: String) -> Int? { metadata[key]?.intValue }
    public func double(_ key: String) -> Double? { metadata[key]?.doubleValue }
    public func bool(_ key: String) -> Bool? { metadata[key]?.boolValue }

    public func strings(_ key: String) -> [String]? {
        guard let a = metadata[key]?.arrayValue else { return nil }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for v in a { guard let s = v.stringValue else { return nil }; out.append(s) }
        return out
    }

    public func ints(_ key: String) -> [Int]? {
        guard let a = metadata[key]?.arrayValue else { return nil }
        var out: [Int] = []
        out.reserveCapacity(a.count)
        for v in a { guard let x = v.intValue else { return nil }; out.append(x) }
        return out
    }

    public func doubles(_ key: String) -> [Double]? {
        guard let a = metadata[key]?.arrayValue else { return nil }
        var out: [Double] = []
        out.reserveCapacity(a.count)
        for v in a { guard let x = v.doubleValue else { return nil }; out.append(x) }
        return out
    }
}

/// ggml tensor type ids: names for messages, block layouts for range checks.
struct GGMLType {
    let id: UInt32

    var tensorType: TensorType? {
        switch id {
        case 0: return .f32
        case 1: return .f16
        case 2: return .q4_0
        case 3: return .q4_1
        case 6: return .q5_0
        case 7: return .q5_1
        case 8: return .q8_0
        case 10: return .q2_K
        case 11: return .q3_K
        case 12: return .q4_K
        case 13: return .q5_K
        case 14: return .q6_K
        case 30: return .bf16
        default: return nil
        }
    }

    private static let names: [UInt32: String] = [
        0: "f32", 1: "f16", 2: "q4_0", 3: "q4_1", 6: "q5_0", 7: "q5_1", 8: "q8_0", 9: "q8_1",
        10: "q2_K", 11: "q3_K", 12: "q4_K", 13: "q5_K", 14: "q6_K", 15: "q8_K",
        16: "iq2_xxs", 17: "iq2_xs", 18: "iq3_xxs", 19: "iq1_s", 20: "iq4_nl", 21: "iq3_s",
        22: "iq2_s", 23: "iq4_xs", 24: "i8", 25: "i16", 26: "i32", 27: "i64", 28: "f64",
        29: "iq1_m", 30: "bf16", 34: "tq1_0", 35: "tq2_0", 39: "mxfp4",
    ]

    var name: String { Self.names[id] ?? "ggml type \(id)" }

    /// (weights per block, bytes per block) for types whose size is fixed and known.
    var layout: (blockElements: Int, blockBytes: Int)? {
        switch id {
        case 0: return (1, 4)
        case 1, 30: return (1, 2)
        case 2: return (32, 18)
        case 3: return (32, 20)
        case 6: return (32, 22)
        case 7: return (32, 24)
        case 8: return (32, 34)
        case 9: return (32, 36)
        case 10: return (256, 84)
        case 11: return (256, 110)
        case 12: return (256, 144)
        case 13: return (256, 176)
        case 14: return (256, 210)
        case 15: return (256, 292)
        case 24: return (1, 1)
        case 25: return (1, 2)
        case 26: return (1, 4)
        case 27, 28: return (1, 8)
        default: return nil
        }
    }
}
