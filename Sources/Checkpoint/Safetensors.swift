#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SprigJSON

/// Tensors from a `.safetensors` file, or from a folder: sharded through
/// `model.safetensors.index.json`, else `model.safetensors`, else every `*.safetensors` in it.
/// Each file is mapped once; every tensor's byte range is validated when the store opens.
public final class SafetensorsStore: TensorStore {
    public let path: String
    /// The mapped files, in load order.
    public let files: [MappedFile]
    /// Free-form `__metadata__` strings of the first file (e.g. `format: pt`).
    public private(set) var metadata: [String: String] = [:]
    /// Tensors present in the files but stored in a dtype Sprig does not compute with: name -> dtype.
    public private(set) var unsupportedTensors: [String: String] = [:]
    private var views: [String: TensorView] = [:]

    public var tensorNames: [String] { views.keys.sorted() }
    public func tensor(_ name: String) -> TensorView? { views[name] }

    public func require(_ name: String) throws(CheckpointError) -> TensorView {
        if let v = views[name] { return v }
        if let t = unsupportedTensors[name] { throw .unsupportedType(path: path, tensor: name, typeName: t) }
        throw .missingTensor(path: path, name: name)
    }

    public init(path: String) throws(CheckpointError) {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0 else { throw .fileNotFound(path: path) }
        if (info.st_mode & S_IFMT) != S_IFDIR {
            let file = try MappedFile(path: path)
            files = [file]
            try add(file)
            return
        }
        let dir = path.hasSuffix("/") ? String(path.dropLast()) : path
        let index = dir + "/model.safetensors.index.json"
        if access(index, F_OK) == 0 {
            let shards = try Self.shardNames(indexPath: index)
            var mapped: [MappedFile] = []
            for shard in shards.files { mapped.append(try MappedFile(path: dir + "/" + shard)) }
            files = mapped
            for f in mapped { try add(f) }
            for (name, shard) in shards.weightMap {
                let owner = dir + "/" + shard
                guard views[name]?.file.path == owner || (unsupportedTensors[name] != nil) else {
                    throw .missingTensor(path: owner, name: name)
                }
            }
            return
        }
        let single = dir + "/model.safetensors"
        var names: [String]
        if access(single, F_OK) == 0 { names = ["model.safetensors"] } else { names = Self.listSafetensors(dir) }
        guard !names.isEmpty else { throw .fileNotFound(path: dir + "/*.safetensors") }
        var mapped: [MappedFile] = []
        for n in names { mapped.append(try MappedFile(path: dir + "/" + n)) }
        files = mapped
        for f in mapped { try add(f) }
    }

    /// One in-memory or already mapped safetensors file (tests, fuzzing).
    public init(file: MappedFile) throws(CheckpointError) {
        path = file.path
        files = [file]
        try add(file)
    }

    private func add(_ file: MappedFile) throws(CheckpointError) {
        let parsed = try SafetensorsHeader.parse(file)
        if files.first === file { metadata = parsed.metadata }
        for (name, entry) in parsed.tensors {
            if views[name] != nil || unsupportedTensors[name] != nil {
                throw .malformed(path: file.path, what: "tensor '\(name)' is defined twice (in this file or another shard)")
            }
            switch entry {
            case .view(let v): views[name] = v
            case .unsupported(let dtype): unsupportedTensors[name] = dtype
            }
        }
    }

    /// Shard files (each listed once, in first-mention order) and the weight map of an index file.
    static func shardNames(indexPath: String) throws(CheckpointError) -> (files: [String], weightMap: [(String, String)]) {
        let f = try MappedFile(path: indexPath)
        let json = try JSON.parse(f.bytes, path: indexPath, what: "index")
        guard let pairs = json["weight_map"]?.object else {
            throw .malformed(path: indexPath, what: "no \"weight_map\" object")
        }
        var files: [String] = []
        var seen = Set<String>()
        var map: [(String, String)] = []
        for field in pairs {
            let name = field.key
            guard let shard = field.value.string else { throw .malformed(path: indexPath, what: "weight_map['\(name)'] is not a file name") }
            // A shard name must stay inside the folder.
            guard !shard.isEmpty, !shard.contains("/"), shard != "..", shard != "." else {
                throw .malformed(path: indexPath, what: "weight_map['\(name)'] names '\(shard)', not a file in this folder")
            }
            if seen.insert(shard).inserted { files.append(shard) }
            map.append((name, shard))
        }
        return (files, map)
    }

    static func listSafetensors(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasSuffix(".safetensors"), !name.hasPrefix(".") { out.append(name) }
        }
        return out.sorted()
    }
}

/// The header of one safetensors file: 8-byte little-endian length N, N bytes of JSON
/// `{name: {dtype, shape, data_offsets: [begin, end)}}` with offsets relative to byte 8 + N.
enum SafetensorsHeader {
    enum Entry { case view(TensorView), unsupported(String) }

    /// Byte sizes of every dtype the format defines, so unsupported ones are still range-checked.
    static let dtypeSizes: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
        "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1,
    ]

    static func parse(_ file: MappedFile) throws(CheckpointError) -> (tensors: [(String, Entry)], metadata: [String: String]) {
        let path = file.path
        let bytes = file.bytes
        var r = ByteReader(bytes, path: path)
        let n64 = try r.u64("8-byte header length")
        guard let n = Checked.int(n64), n <= r.remaining else {
            throw .truncated(path: path, what: "header length \(n64) exceeds the \(bytes.count - 8) bytes after it")
        }
        let headerBytes = try r.slice(n, "JSON header")
        let dataStart = 8 + n
        let dataCount = bytes.count - dataStart
        guard case .object(let items) = try JSON.parse(headerBytes, path: path, what: "header") else {
            throw .malformed(path: path, what: "header is not a JSON object")
        }
        var tensors: [(String, Entry)] = []
        var metadata: [String: String] = [:]
        for item in items {
            let name = item.key, value = item.value
            if name == "__metadata__" {
                for field in value.object ?? [] { if let s = field.value.string { metadata[field.key] = s } }
                continue
            }
            guard value.object != nil, let dtype = value["dtype"]?.string,
                  let shapeJSON = value["shape"]?.array, let offJSON = value["data_offsets"]?.array else {
                throw .malformed(path: path, what: "tensor '\(name)' needs dtype, shape and data_offsets")
            }
            var shape: [Int] = []
            for d in shapeJSON {
                guard let v = d.int, v >= 0 else { throw .malformed(path: path, what: "tensor '\(name)' has a bad shape entry") }
                shape.append(v)
            }
            guard offJSON.count == 2, let begin = offJSON[0].int, let end = offJSON[1].int, 0 <= begin, begin <= end else {
                throw .malformed(path: path, what: "tensor '\(name)' data_offsets must be [begin, end) with begin <= end")
            }
            guard end <= dataCount else { throw .outOfRange(path: path, tensor: name) }
            guard let size = dtypeSizes[dtype] else {
                throw .unsupportedType(path: path, tensor: name, typeName: dtype)
            }
            guard let elems = Checked.product(shape), let want = Checked.mul(elems, size), want == end - begin else {
                throw .outOfRange(path: path, tensor: name)
            }
            let type: TensorType?
            switch dtype {
            case "F32": type = .f32
            case "F16": type = .f16
            case "BF16": type = .bf16
            default: type = nil
            }
            guard let type else { tensors.append((name, .unsupported(dtype))); continue }
            let data = UnsafeRawBufferPointer(rebasing: bytes[(dataStart + begin)..<(dataStart + end)])
            tensors.append((name, .view(TensorView(name: name, type: type, shape: shape, data: data, file: file))))
        }
        return (tensors, metadata)
    }
}
