import Foundation
import Checkpoint
import SprigJSON

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
        case let .unknownArchitecture(f, t): return "\(f): unsupported model_type '\(t)' (supported: llama, mistral, phi3, qwen2, qwen3)"
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
        let json: JSON
        do { json = try data.withUnsafeBytes { (b) throws(JSONError) in try JSON.parse(b) } } catch {
            throw .badConfig(path, "not valid JSON (\(error))")
        }
        guard json.object != nil else { throw .badConfig(path, "top level is not an object") }
        return try parse(json, path: path)
    }

    /// The fields Sprig reads from a parsed config.json. Numbers and booleans are told
    /// apart by the parser (Foundation's bridging read a 0 or 1 as a boolean).
    static func parse(_ json: JSON, path: String) throws(TransformerError) -> TransformerConfig {
        func int(_ key: String) -> Int? { json[key]?.int }
        func object(_ key: String) -> JSON? { json[key].flatMap { $0.object != nil ? $0 : nil } }
        func need(_ key: String) throws(TransformerError) -> Int {
            guard let v = int(key) else {
                if let x = json[key]?.number { throw .badConfig(path, "'\(key)' must be a whole number in range (got \(x))") }
                throw .badConfig(path, "missing or non-integer '\(key)'")
            }
            return v
        }
        // Optional fields fall back to their defaults only when absent or null: a value of
        // the wrong type ("rope_theta": "abc") is a broken checkpoint, not a default.
        for key in ["rope_theta", "rms_norm_eps", "max_position_embeddings", "num_key_value_heads", "head_dim"] {
            if let v = json[key], !v.isNull, v.number == nil {
                throw .badConfig(path, "'\(key)' is not a number")
            }
        }
        if let v = json["rope_parameters"]?["rope_theta"], !v.isNull, v.number == nil {
            throw .badConfig(path, "'rope_parameters.rope_theta' is not a number")
        }
        for key in ["max_position_embeddings", "num_key_value_heads", "head_dim"] where json[key]?.number != nil && int(key) == nil {
            throw .badConfig(path, "'\(key)' is not an integer")
        }
        let modelType = json["model_type"]?.string ?? ""
        // Mistral is Llama's architecture, with a sliding window (below); so is Phi-3's window.
        let mistral = modelType == "mistral"
        let windowed = mistral || modelType == "phi3"
        guard let arch = mistral ? .llama : Architecture(rawValue: modelType) else {
            throw .unknownArchitecture(path, modelType.isEmpty ? "(none)" : modelType)
        }
        if let act = json["hidden_act"]?.string, !["silu", "swish"].contains(act) {
            throw .badConfig(path, "unsupported hidden_act '\(act)' (the MLP is SwiGLU: silu)")
        }
        let ropeParameters = object("rope_parameters")
        // Phi-4-mini style partial rotary (RoPE on part of each head) is not computed.
        let partial = json["partial_rotary_factor"]?.number ?? ropeParameters?["partial_rotary_factor"]?.number
            ?? object("rope_scaling")?["partial_rotary_factor"]?.number
        if let f = partial, f != 1 { throw .badConfig(path, "partial_rotary_factor \(f) is not supported (RoPE on whole heads only)") }
        var theta = json["rope_theta"]?.number
        if theta == nil { theta = ropeParameters?["rope_theta"]?.number }
        var scaling: RopeScaling? = nil
        let scalingJSON = object("rope_scaling") ?? ropeParameters
        if let s = scalingJSON {
            let type = s["rope_type"]?.string ?? s["type"]?.string ?? "default"
            switch type {
            case "default": break
            case "linear", "llama3":
                guard let factor = s["factor"]?.number, factor > 0 else {
                    throw .badConfig(path, "rope scaling '\(type)' needs a positive factor")
                }
                scaling = RopeScaling(type: type, factor: factor,
                                      lowFreqFactor: s["low_freq_factor"]?.number,
                                      highFreqFactor: s["high_freq_factor"]?.number,
                                      originalMaxPositions: s["original_max_position_embeddings"]?.int)
            default:
                throw .badConfig(path, "unsupported rope scaling type '\(type)'")
            }
        }
        var eos: [Int] = []
        if let e = json["eos_token_id"]?.int { eos = [e] }
        if let e = json["eos_token_id"]?.array { eos = e.compactMap(\.int) }
        let heads = try need("num_attention_heads")
        let layers = try need("num_hidden_layers")
        var maxPositions = int("max_position_embeddings") ?? 4096
        if windowed {
            // Every layer attends to the last `sliding_window` positions only: inside the
            // window that is full attention, so the context stops there (a longer sequence
            // is refused, never computed wrongly).
            if let window = int("sliding_window"), window > 0 { maxPositions = min(maxPositions, window) }
        } else {
            try refuseSlidingWindow(json, layers: layers, maxPositions: maxPositions, path: path)
        }
        let config = TransformerConfig(
            architecture: arch,
            hiddenSize: try need("hidden_size"),
            intermediateSize: try need("intermediate_size"),
            layerCount: layers,
            headCount: heads,
            kvHeadCount: int("num_key_value_heads") ?? heads,
            headDim: int("head_dim"),
            vocabSize: try need("vocab_size"),
            ropeTheta: theta ?? 10000,
            ropeScaling: scaling,
            rmsNormEps: json["rms_norm_eps"]?.number ?? 1e-6,
            maxPositions: maxPositions,
            tiedEmbeddings: json["tie_word_embeddings"]?.bool ?? false,
            attentionBias: json["attention_bias"]?.bool ?? (arch == .qwen2),
            bosTokenID: int("bos_token_id"),
            eosTokenIDs: eos)
        try config.validate(source: path)
        return config
    }

    /// Sliding-window attention (Qwen2's `use_sliding_window`, or `layer_types` naming
    /// "sliding_attention" in transformers 5) is not implemented: refused unless the window
    /// covers the whole context, where it equals full attention. transformers 4.x slides
    /// the layers from `max_window_layers` (default 28) on.
    static func refuseSlidingWindow(_ json: JSON, layers: Int, maxPositions: Int, path: String) throws(TransformerError) {
        if json["sliding_window"]?.isNull == true { return }   // no window: full attention
        let slides: Bool
        if let types = json["layer_types"]?.array {
            slides = types.contains { $0.string == "sliding_attention" }
        } else {
            slides = json["use_sliding_window"]?.bool == true && (json["max_window_layers"]?.int ?? 28) < layers
        }
        let window = json["sliding_window"]?.int ?? 4096
        if slides && window < maxPositions {
            throw .badConfig(path, "sliding-window attention (window \(window)) is not supported; "
                             + "only full attention (use_sliding_window false)")
        }
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
        guard heads > 0 else { throw .badConfig(path, "\(archName).attention.head_count must be positive (got \(heads))") }
        let vocab = gguf.int("\(archName).vocab_size") ?? gguf.strings("tokenizer.ggml.tokens")?.count ?? 0
        let headDim = gguf.int("\(archName).attention.key_length") ?? hidden / max(heads, 1)
        if let rotary = gguf.int("\(archName).rope.dimension_count"), rotary != headDim {
            throw .badConfig(path, "RoPE on \(rotary) of \(headDim) head dimensions is not supported (whole heads only)")
        }
        var scaling: RopeScaling? = nil
        switch gguf.string("\(archName).rope.scaling.type") ?? "none" {
        case "none": break
        case "linear":
            guard let factor = gguf.double("\(archName).rope.scaling.factor"), factor > 0 else {
                throw .badConfig(path, "rope scaling 'linear' needs a positive \(archName).rope.scaling.factor")
            }
            scaling = RopeScaling(type: "linear", factor: factor)
        case let type:
            throw .badConfig(path, "unsupported rope scaling type '\(type)'")
        }
        // llama.cpp's converters store Llama 3's frequency scaling as per-pair divisors.
        if let t = gguf.tensor("rope_freqs.weight") {
            let divisors: [Float]
            do { divisors = try t.floats() } catch { throw .checkpoint(error) }
            guard divisors.count == headDim / 2, divisors.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw .badConfig(path, "rope_freqs.weight must hold \(headDim / 2) positive factors (has \(divisors.count))")
            }
            scaling = scaling ?? RopeScaling(type: "default", factor: 1)
            scaling?.divisors = divisors.map(Double.init)
        }
        // Phi-3's long-context files scale RoPE per pair for long and short contexts (LongRoPE).
        if gguf.tensor("rope_factors_long.weight") != nil || gguf.tensor("rope_factors_short.weight") != nil {
            throw .badConfig(path, "LongRoPE factors (rope_factors_long/short) are not supported")
        }
        var maxPositions = gguf.int("\(archName).context_length") ?? 4096
        // A sliding window (Phi-3) caps the context: inside it attention is full.
        if let window = gguf.int("\(archName).attention.sliding_window"), window > 0 { maxPositions = min(maxPositions, window) }
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
            maxPositions: maxPositions,
            tiedEmbeddings: gguf.tensor("output.weight") == nil,
            attentionBias: gguf.tensor("blk.0.attn_q.bias") != nil,
            bosTokenID: gguf.int("tokenizer.ggml.bos_token_id"),
            eosTokenIDs: gguf.int("tokenizer.ggml.eos_token_id").map { [$0] } ?? [])
        try config.validate(source: path)
        return config
    }
}
