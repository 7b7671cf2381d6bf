import Foundation

/// The decoder families Sprig runs. Qwen2 differs from Llama only by q/k/v bias.
public enum Architecture: String, Codable, Sendable {
    case llama, qwen2
    /// Qwen2's layers with an RMSNorm on every query and key head before RoPE (no q/k/v bias).
    case qwen3
    /// Llama's math with q/k/v and gate/up each stored as one fused matrix (Phi-3).
    case phi3
}

/// Shape and numerics of a decoder-only transformer, from a Hugging Face
/// `config.json` (transformers 4.x and 5.x forms) or GGUF metadata.
public struct TransformerConfig: Codable, Sendable, Equatable {
    public var architecture: Architecture
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var vocabSize: Int
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling?
    public var rmsNormEps: Double
    public var maxPositions: Int
    public var tiedEmbeddings: Bool
    public var attentionBias: Bool
    public var bosTokenID: Int?
    public var eosTokenIDs: [Int]

    public init(architecture: Architecture, hiddenSize: Int, intermediateSize: Int, layerCount: Int,
                headCount: Int, kvHeadCount: Int, headDim: Int? = nil, vocabSize: Int, ropeTheta: Double,
                ropeScaling: RopeScaling? = nil, rmsNormEps: Double, maxPositions: Int, tiedEmbeddings: Bool,
                attentionBias: Bool? = nil, bosTokenID: Int? = nil, eosTokenIDs: [Int] = []) {
        self.architecture = architecture
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim ?? (headCount > 0 ? hiddenSize / headCount : 0)
        self.vocabSize = vocabSize
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.rmsNormEps = rmsNormEps
        self.maxPositions = maxPositions
        self.tiedEmbeddings = tiedEmbeddings
        self.attentionBias = attentionBias ?? (architecture == .qwen2)
        self.bosTokenID = bosTokenID
        self.eosTokenIDs = eosTokenIDs
    }

    public var qDim: Int { headCount * headDim }
    public var kvDim: Int { kvHeadCount * headDim }

    /// Checks the numbers make a runnable model; `source` names the file in errors.
    public func validate(source: String) throws(TransformerError) {
        func bad(_ what: String) -> TransformerError { .badConfig(source, what) }
        guard hiddenSize > 0, intermediateSize > 0, layerCount > 0, vocabSize > 0 else {
            throw bad("hidden_size, intermediate_size, num_hidden_layers and vocab_size must be positive")
        }
        guard headCount > 0, kvHeadCount > 0, headCount % kvHeadCount == 0 else {
            throw bad("num_attention_heads (\(headCount)) must be a positive multiple of num_key_value_heads (\(kvHeadCount))")
        }
        guard headDim > 0, headDim % 2 == 0 else { throw bad("head_dim (\(headDim)) must be positive and even") }
        guard ropeTheta > 0, rmsNormEps > 0, maxPositions > 0 else {
            throw bad("rope_theta, rms_norm_eps and max_position_embeddings must be positive")
        }
        guard hiddenSize <= 1 << 16, intermediateSize <= 1 << 18, layerCount <= 1024, vocabSize <= 1 << 22,
              headCount <= 1024 else { throw bad("implausibly large dimensions") }
    }
}

/// Rotary scaling variants found in Llama-family configs.
public struct RopeScaling: Codable, Sendable, Equatable {
    public var type: String                      // "linear", "llama3" ("default" = none)
    public var factor: Double
    public var lowFreqFactor: Double?
    public var highFreqFactor: Double?
    public var originalMaxPositions: Int?
    /// Per-pair divisors of the frequencies (a GGUF's `rope_freqs.weight`, [headDim/2]),
    /// applied after `type`'s scaling, as llama.cpp does.
    public var divisors: [Double]?

    /// Inverse frequencies for `headDim` under this scaling.
    public func inverseFrequencies(headDim: Int, theta: Double) -> [Double] {
        let scaled = scaledFrequencies(headDim: headDim, theta: theta)
        guard let d = divisors else { return scaled }
        precondition(d.count == scaled.count, "rope divisors do not match head_dim")
        return zip(scaled, d).map { $0 / $1 }
    }

    private func scaledFrequencies(headDim: Int, theta: Double) -> [Double] {
        let base = (0..<(headDim / 2)).map { 1.0 / pow(theta, Double(2 * $0) / Double(headDim)) }
        switch type {
        case "linear":
            return base.map { $0 / factor }
        case "llama3":
            let low = lowFreqFactor ?? 1, high = highFreqFactor ?? 4
            let original = Double(originalMaxPositions ?? 8192)
            let lowWavelen = original / low, highWavelen = original / high
            return base.map { f in
                let wavelen = 2 * Double.pi / f
                if wavelen < highWavelen { return f }
                if wavelen > lowWavelen { return f / factor }
                let smooth = (original / wavelen - low) / (high - low)
                return (1 - smooth) * f / factor + smooth * f
            }
        default:
            return base
        }
    }
}
