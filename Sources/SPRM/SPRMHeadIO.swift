import Checkpoint
import Foundation

/// Loading and saving SPRM heads in MetaStone-S1's key layout:
/// `0.weight` [h, c], `0.bias` [h], `3.weight` [1, h], `3.bias` [1]
/// (indices of `nn.Sequential(Linear, ReLU, Dropout, Linear)`).
extension SPRMHead {
    /// Key suffixes in MetaStone's layout, in the order they are checked and written.
    static let keys = ["0.weight", "0.bias", "3.weight", "3.bias"]

    /// File names looked for inside a folder, in order of preference: a head saved by
    /// `sprig train-sprm` (`sprm.safetensors`) wins over the shipped `score_module.pt`.
    public static let folderFileNames = ["sprm.safetensors", "score_module.pt"]

    /// Loads a head from
    /// - a safetensors file with MetaStone's keys, optionally under one prefix such as
    ///   `score_module.` or `sprm.` (f32, f16 or bf16),
    /// - MetaStone's `score_module.pt` (a `torch.save` zip of the state dict),
    /// - a folder holding `sprm.safetensors` or `score_module.pt`.
    /// The format is chosen by the file's first bytes, not its name.
    public static func load(path: String) throws(SPRMError) -> SPRMHead {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw .notFound(path: path) }
        if isDir.boolValue {
            let dir = path.hasSuffix("/") ? String(path.dropLast()) : path
            for name in folderFileNames where FileManager.default.fileExists(atPath: dir + "/" + name) {
                return try loadFile(path: dir + "/" + name)
            }
            throw .notFound(path: path)
        }
        return try loadFile(path: path)
    }

    /// One tensor found in a file: its shape now, its values on demand (only the head's
    /// four tensors are ever decoded, even when `path` is a whole model's safetensors).
    private struct Found {
        let shape: [Int]
        let values: () throws(CheckpointError) -> [Float]
    }

    private static func loadFile(path: String) throws(SPRMError) -> SPRMHead {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw .checkpoint(path: path, message: error.description) }
        let bytes = file.bytes
        // A zip ("PK") or a legacy pickle (0x80 protocol byte) is torch.save output.
        let isTorch = bytes.count >= 2 && ((bytes[0] == 0x50 && bytes[1] == 0x4B) || bytes[0] == 0x80)
        var found: [String: Found] = [:]
        do {
            if isTorch {
                for (name, t) in try TorchCheckpoint.loadStateDict(file: file) {
                    let values = t.values
                    found[name] = Found(shape: t.shape, values: { () throws(CheckpointError) in values })
                }
            } else {
                let store = try SafetensorsStore(file: file)
                for name in store.tensorNames {
                    guard let view = store.tensor(name) else { continue }
                    found[name] = Found(shape: view.shape, values: { () throws(CheckpointError) in try view.floats() })
                }
                // Tensors in dtypes Sprig does not compute with still count as present (for the error).
                for (name, _) in store.unsupportedTensors where found[name] == nil {
                    found[name] = Found(shape: [], values: { () throws(CheckpointError) in
                        try store.require(name).floats()
                    })
                }
            }
        } catch {
            throw .checkpoint(path: path, message: error.description)
        }
        let prefix = try headPrefix(in: Array(found.keys), path: path)
        func get(_ key: String) throws(SPRMError) -> Found {
            guard let f = found[prefix + key] else { throw .missingKey(path: path, key: prefix + key) }
            return f
        }
        let w1 = try get("0.weight"), b1 = try get("0.bias"), w2 = try get("3.weight"), b2 = try get("3.bias")
        guard w1.shape.count == 2, w1.shape[0] >= 1, w1.shape[1] >= 1 else {
            throw .badShape(path: path, key: prefix + "0.weight", shape: w1.shape, expected: "[h, c] (MetaStone: [2c, c])")
        }
        let h = w1.shape[0], c = w1.shape[1]
        guard b1.shape == [h] else { throw .badShape(path: path, key: prefix + "0.bias", shape: b1.shape, expected: "[\(h)]") }
        guard w2.shape == [1, h] else {
            throw .badShape(path: path, key: prefix + "3.weight", shape: w2.shape, expected: "[1, \(h)]")
        }
        guard b2.shape == [1] else { throw .badShape(path: path, key: prefix + "3.bias", shape: b2.shape, expected: "[1]") }
        do {
            let w1v = try w1.values(), b1v = try b1.values(), w2v = try w2.values(), b2v = try b2.values()
            // Shapes were checked against the parsers' element counts; recheck the copies anyway.
            guard w1v.count == h * c, b1v.count == h, w2v.count == h, b2v.count == 1 else {
                throw SPRMError.badShape(path: path, key: prefix + "0.weight", shape: w1.shape, expected: "data matching the shape")
            }
            return SPRMHead(w1: w1v, b1: b1v, w2: w2v, b2: b2v[0])
        } catch let e as SPRMError {
            throw e
        } catch let e as CheckpointError {
            throw .checkpoint(path: path, message: e.description)
        } catch {
            throw .checkpoint(path: path, message: "\(error)")
        }
    }

    /// The prefix ("" or ending in ".") under which all four head keys exist.
    /// Errors name the first missing key of the most complete candidate.
    static func headPrefix(in names: [String], path: String) throws(SPRMError) -> String {
        let nameSet = Set(names)
        var candidates = Set<String>()
        for name in names {
            for key in keys where name == key || name.hasSuffix("." + key) {
                candidates.insert(String(name.dropLast(key.count)))
            }
        }
        let complete = candidates.filter { p in keys.allSatisfy { nameSet.contains(p + $0) } }.sorted()
        if complete.count == 1 { return complete[0] }
        if complete.contains("") { return "" }
        if complete.count > 1 { throw .ambiguous(path: path, prefixes: complete) }
        // Report against the candidate holding the most keys ("" when there is none).
        let best = candidates.sorted().max { a, b in
            keys.filter { nameSet.contains(a + $0) }.count < keys.filter { nameSet.contains(b + $0) }.count
        } ?? ""
        let missing = keys.first { !nameSet.contains(best + $0) } ?? keys[0]
        throw .missingKey(path: path, key: best + missing)
    }

    /// Writes the head as an f32 safetensors file in MetaStone's key layout
    /// (loadable by `safetensors.torch.load_file` + `nn.Sequential.load_state_dict`).
    public func save(to path: String) throws(SPRMError) {
        let bytes = SafetensorsWriter.encode([
            .init(name: "0.weight", shape: [hiddenWidth, inputWidth], values: w1),
            .init(name: "0.bias", shape: [hiddenWidth], values: b1),
            .init(name: "3.weight", shape: [1, hiddenWidth], values: w2),
            .init(name: "3.bias", shape: [1], values: [b2]),
        ], metadata: ["format": "pt"])
        try writeBytes(bytes, to: path)
    }
}
