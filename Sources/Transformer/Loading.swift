import Foundation
import Checkpoint

extension TransformerModel {
    /// Loads a GGUF file or a Hugging Face folder (config.json + safetensors).
    /// `dequantize` expands quantized GGUF weights to f32 (slower, for comparison).
    public static func load(path: String, dequantize: Bool = false) throws(TransformerError) -> TransformerModel {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw .checkpoint(.fileNotFound(path: path))
        }
        if isDir.boolValue {
            let configURL = URL(fileURLWithPath: path).appendingPathComponent("config.json")
            let config = try TransformerConfig.load(huggingFaceConfig: configURL)
            let store: SafetensorsStore
            do { store = try SafetensorsStore(path: path) } catch { throw .checkpoint(error) }
            let weights = try WeightLoader(store: store, names: .huggingFace, config: config,
                                           dequantize: dequantize, undoRotaryInterleave: false).load()
            return TransformerModel(config: config, weights: weights, source: path)
        }
        let gguf: GGUFFile
        do { gguf = try GGUFFile(path: path) } catch { throw .checkpoint(error) }
        return try load(gguf: gguf, dequantize: dequantize)
    }

    /// Builds the model from an already parsed GGUF file.
    public static func load(gguf: GGUFFile, dequantize: Bool = false) throws(TransformerError) -> TransformerModel {
        let config = try TransformerConfig.load(gguf: gguf)
        let weights = try WeightLoader(store: gguf, names: .gguf, config: config, dequantize: dequantize,
                                       undoRotaryInterleave: config.architecture == .llama).load()
        return TransformerModel(config: config, weights: weights, source: gguf.path)
    }
}
