/// A tensor copied out of a checkpoint into f32 (used where the file format does not
/// allow views, i.e. `.pt`).
public struct OwnedTensor: Sendable, Equatable {
    public let name: String
    /// Row-major, outermost first.
    public let shape: [Int]
    public let values: [Float]

    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        self.values = values
    }
}

/// Reader for `torch.save(model.state_dict(), path)` files (the zip format of torch >= 1.6):
/// `<top>/data.pkl` holds the pickled dict, `<top>/data/<key>` the raw storages.
/// Nothing in the file is executed; see `Pickle`.
public enum TorchCheckpoint {
    public static func loadStateDict(path: String) throws(CheckpointError) -> [String: OwnedTensor] {
        try loadStateDict(file: try MappedFile(path: path))
    }

    public static func loadStateDict(file: MappedFile) throws(CheckpointError) -> [String: OwnedTensor] {
        let path = file.path
        if file.bytes.count >= 2, file.bytes[0] == 0x80, file.bytes[1] <= 5 {
            throw .unsupported(path: path, what: "legacy (pre-1.6, non-zip) torch.save format; re-save with a current torch")
        }
        let zip = try ZipArchive(file: file)
        // The top folder is named after the file when saved (not always "archive").
        let pkl = zip.entries.filter { e in
            e.name.hasSuffix("/data.pkl") && e.name.split(separator: "/", omittingEmptySubsequences: false).count == 2
        }
        guard pkl.count == 1 else {
            throw .malformed(path: path, what: pkl.isEmpty ? "no <top>/data.pkl entry (not a torch.save archive)" : "several data.pkl entries")
        }
        let top = String(pkl[0].name.dropLast("/data.pkl".count))
        if let order = zip.entry(top + "/byteorder") {
            let text = String(decoding: try zip.data(order), as: UTF8.self)
            guard text == "little" else { throw .unsupported(path: path, what: "byte order '\(text)'") }
        }
        let root = try Pickle.load(try zip.data(pkl[0]), path: path, entry: pkl[0].name)
        guard case .dict(let dict) = root else {
            throw .malformed(path: path, what: "data.pkl does not hold a dict of tensors (a state dict)")
        }
        var out: [String: OwnedTensor] = [:]
        var storages: [String: UnsafeRawBufferPointer] = [:]  // CRC-checked once per storage
        for (k, v) in dict.items {
            guard case .string(let name) = k else { throw .malformed(path: path, what: "state dict key is not a string") }
            guard case .tensor(let t) = v else { throw .malformed(path: path, what: "state dict entry '\(name)' is not a tensor") }
            guard out[name] == nil else { throw .malformed(path: path, what: "state dict key '\(name)' appears twice") }
            out[name] = try materialize(t, name: name, top: top, zip: zip, storages: &storages)
        }
        return out
    }

    /// Element width and decoder of each storage class Sprig reads.
    private static func elementSize(_ storageType: String) -> Int? {
        switch storageType {
        case "FloatStorage": return 4
        case "HalfStorage", "BFloat16Storage": return 2
        case "DoubleStorage": return 8
        default: return nil
        }
    }

    private static func materialize(_ t: Pickle.Tensor, name: String, top: String, zip: ZipArchive,
                                    storages: inout [String: UnsafeRawBufferPointer]) throws(CheckpointError) -> OwnedTensor {
        let path = zip.file.path
        let s = t.storage
        guard let width = elementSize(s.typeName) else {
            throw .unsupportedType(path: path, tensor: name, typeName: s.typeName)
        }
        let data: UnsafeRawBufferPointer
        if let cached = storages[s.key] {
            data = cached
        } else {
            guard let entry = zip.entry("\(top)/data/\(s.key)") else {
                throw .malformed(path: path, what: "storage '\(s.key)' of tensor '\(name)' is missing from the archive")
            }
            data = try zip.data(entry)
            storages[s.key] = data
        }
        guard let storageBytes = Checked.mul(s.numel, width), storageBytes <= data.count else {
            throw .outOfRange(path: path, tensor: name)
        }
        guard let count = Checked.product(t.size), t.offset >= 0,
              let end = Checked.add(t.offset, count), end <= s.numel else {
            throw .outOfRange(path: path, tensor: name)
        }
        // Row-major contiguity: stride[i] == product(size[i+1...]); size-1 dims may carry any stride.
        var expected = 1
        for i in stride(from: t.size.count - 1, through: 0, by: -1) where count > 0 {
            if t.size[i] != 1, t.stride[i] != expected {
                throw .unsupported(path: path, what: "tensor '\(name)' is not contiguous (strides \(t.stride) for shape \(t.size)); save tensor.contiguous()")
            }
            expected *= t.size[i]
        }
        let base = t.offset * width
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { out in
            for i in 0..<count {
                let at = base + i * width
                switch s.typeName {
                case "FloatStorage": out[i] = Float(bitPattern: data.loadUnaligned(fromByteOffset: at, as: UInt32.self))
                case "HalfStorage": out[i] = halfToFloat(data.loadUnaligned(fromByteOffset: at, as: UInt16.self))
                case "BFloat16Storage":
                    out[i] = Float(bitPattern: UInt32(data.loadUnaligned(fromByteOffset: at, as: UInt16.self)) << 16)
                default: out[i] = Float(Double(bitPattern: data.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
                }
            }
        }
        return OwnedTensor(name: name, shape: t.size, values: values)
    }
}
