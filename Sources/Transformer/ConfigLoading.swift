import Foundation
import Checkpoint

public enum TransformerError: Error, CustomStringConvertible, Equatable {
    case badConfig(String, String)                 // file, problem
    case unknownArchitecture(String, String)       // file, model_type
    case missingTensor(String, String)             // file, tensor
    case wrongShape(String, String, expected: [Int], actual: [Int])
    case unsupportedTensorType(String, String, String)
    case tokenOutOfRange(Int, vocab: Int)
    case contextOverflow(needed: Int, limit: Int)
    case checkpoint(CheckpointError)
    case cache(String)

    public var description: String {
        switch self {
        case let .badConfig(f, w): return "\(f): bad config: \(w)"
        case let .unknownArchitecture(f, t): return "\(f): unsupported model_type '\(t)' (supported: llama, qwen2)"
        case let .missingTensor(f, t): return "\(f): missing tensor '\(t)'"
        case let .wrongShape(f, t, e, a): return "\(f): tensor '\(t)' has shape \(a), the config needs \(e)"
        case let .unsupportedTensorType(f, t, ty): return "\(f): tensor '\(t)' has unsupported type \(ty) for this use"
        case let .tokenOutOfRange(id, v): return "token id \(id) is out of range for a vocabulary of \(v)"
        case let .contextOverflow(n, l): return "sequence of \(n) positions exceeds the model's context of \(l)"
        case let .checkpoint(e): return e.description
        case let .cache(m): return "KV cache: \(m)"
        }
    }
}

extension TransformerConfig {
    /// Reads a Hugging Face `config.json` (transformers 4.x: top-level `rope_theta`,
    /// `torch_dtype`; 5.x: `rope_parameters.rope_theta`, `dtype`).
    public static func load(huggingFaceConfig url: URL) throws(TransformerError) -> TransformerConfig {
        let path = url.path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .badConfig(path, "file not found or unreadable")
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw .badConfig(path, "not valid JSON")
        }
        guard let json = object as? [String: Any] else { throw .badConfig(path, "top level is not an object") }
        return try parse(json, path: path)
    }

    static func parse(_ json: [String: Any], path: String) throws(TransformerError) -> TransformerConfig {
        func int(_ key: String) -> Int? {
            if let n = json[key] as? NSNumber, !(json[key] is Bool) { return n.intValue }
            return nil
        }
        func need(_ key: String) throws(TransformerError) -> Int {
            guard let v = int(key) else { throw .badConfig(path, "missing or non-integer '\(key)'") }
            return v
        }
        let modelType = (json["model_type"] as? String) ?? ""
        guard let arch = Architecture(rawValue: modelType) else {
            throw .unknownArchitecture(path, modelType.isEmpty ? "(none)" : modelType)
        }
        if let act = json["hidden_act"] as? String, !["silu", "swish"].contains(act) {
            throw .badConfig(path, "unsupported hidden_act '\(act)' (the MLP is SwiGLU: silu)")
        }
        let ropeParameters = json["rope_parameters"] as? [String: Any]
        var theta = (json["rope_theta"] as? NSNumber)?.doubleValue
        if theta == nil { theta = (ropeParameters?["rope_theta"] as? NSNumber)?.doubleValue }
        var scaling: RopeScaling? = nil
        let scalingJSON = (json["rope_scaling"] as? [String: Any]) ?? ropeParameters
        if let s = scalingJSON {
            let type = (s["rope_type"] as? String) ?? (s["type"] as? String) ?? "default"
            switch type {
            case "default": break
            case "linear", "llama3":
                guard let factor = (s["factor"] as? NSNumber)?.doubleValue, factor > 0 else {
                    throw .badConfig(path, "rope scaling '\(type)' needs a positive factor")
                }
                scaling = RopeScaling(type: type, factor: factor,
                                      lowFreqFactor: (s["low_freq_factor"] as? NSNumber)?.doubleValue,
                                      highFreqFactor: (s["high_freq_factor"] as? NSNumber)?.doubleValue,
                                      originalMaxPositions: (s["original_max_position_embeddings"] as? NSNumber)?.intValue)
            default:
                throw .badConfig(path, "unsupported rope scaling type '\(type)'")
            }
        }
        var eos: [Int] = []
        if let e = json["eos_token_id"] as? NSNumber { eos = [e.intValue] }
        if let e = json["eos_token_id"] as? [NSNumber] { eos = e.map(\.intValue) }
        let heads = try need("num_attention_heads")
        let config = TransformerConfig(
            architecture: arch,
            hiddenSize: try need("hidden_size"),
            intermediateSize: try need("intermediate_size"),
            layerCount: try need("num_hidden_layers"),
            headCount: heads,
            kvHeadCount: int("num_key_value_heads") ?? heads,
            headDim: int("head_dim"),
            vocabSize: try need("vocab_size"),
            ropeTheta: theta ?? 10000,
            ropeScaling: scaling,
            rmsNormEps: (json["rms_norm_eps"] as? NSNumber)?.doubleValue ?? 1e-6,
            maxPositions: int("max_position_embeddings") ?? 4096,
            tiedEmbeddings: (json["tie_word_embeddings"] as? Bool) ?? false,
            attentionBias: (json["attention_bias"] as? Bool) ?? (arch == .qwen2),
            bosTokenID: int("bos_token_id"),
            eosTokenIDs: eos)
        try config.validate(source: path)
        return config
    }

    /// Reads `<arch>.*` GGUF metadata (llama.cpp's key names).
    public static func load(gguf: GGUFFile) throws(TransformerError) -> TransformerConfig {
        let path = gguf.path
        let archName = gguf.string("general.architecture") ?? "(none)"
        guard let arch = Architecture(rawValue: archName) else { throw .unknownArchitecture(path, archName) }
        func need(_ key: String) throws(TransformerError) -> Int {
            guard let v = gguf.int("\(archName).\(key)") else { throw .badConfig(path, "missing metadata '\(archName).\(key)'") }
            return v
        }
        let hidden = try need("embedding_length")
        let heads = try need("attention.head_count")
        let vocab = gguf.int("\(archName).vocab_size") ?? gguf.strings("tokenizer.ggml.tokens")?.count ?? 0
        let headDim = gguf.int("\(archName).attention.key_length") ?? hidden / max(heads, 1)
        var scaling: RopeScaling? = nil
        if let type = gguf.string("\(archName).rope.scaling.type"), type == "linear",
           let factor = gguf.double("\(archName).rope.scaling.factor") {
            scaling = RopeScaling(type: "linear", factor: factor)
        }
        let config = TransformerConfig(
            architecture: arch,
            hiddenSize: hidden,
            intermediateSize: try need("feed_forward_length"),
            layerCount: try need("block_count"),
            headCount: heads,
            kvHeadCount: gguf.int("\(archName).attention.head_count_kv") ?? heads,
            headDim: headDim,
            vocabSize: vocab,
            ropeTheta: gguf.double("\(archName).rope.freq_base") ?? 10000,
            ropeScaling: scaling,
            rmsNormEps: gguf.double("\(archName).attention.layer_norm_rms_epsilon") ?? 1e-6,
            maxPositions: gguf.int("\(archName).context_length") ?? 4096,
            tiedEmbeddings: gguf.tensor("output.weight") == nil,
            attentionBias: gguf.tensor("blk.0.attn_q.bias") != nil,
            bosTokenID: gguf.int("tokenizer.ggml.bos_token_id"),
            eosTokenIDs: gguf.int("tokenizer.ggml.eos_token_id").map { [$0] } ?? [])
        try config.validate(source: path)
        return config
    }
}
