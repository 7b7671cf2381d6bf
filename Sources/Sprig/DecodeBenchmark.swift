import Foundation
import Kernels
import PagedKV
import Transformer

/// Measures what the engine does per second on one model: prefill of a prompt and
/// batched decode of N sibling branches forked from it (as a search expands a node).
public struct DecodeBenchmark {
    public struct DecodeFigure: Codable, Sendable {
        public var sequences: Int
        public var tokensPerSecond: Double
        public var rooflineFraction: Double
        /// Step-time lower bound used for the fraction: max(weight bytes / bandwidth, 2·params·N / peak FLOP/s)
        /// (see `against`).
        public var rooflineStepSeconds: Double
        /// Measured seconds per decode step (the best run's).
        public var stepSeconds: Double
        enum CodingKeys: String, CodingKey {
            case sequences, tokensPerSecond = "tokens_per_s", rooflineFraction = "roofline_fraction"
            case rooflineStepSeconds = "roofline_step_s", stepSeconds = "step_s"
        }

        /// The figure against `roofline` (for `model`'s weights and parameters).
        public func against(_ roofline: Roofline, model: TransformerModel) -> DecodeFigure {
            var f = self
            // Weights at the faster of DRAM and a buffer their size (cache-resident models);
            // arithmetic at the peak of what the products run: int8 multiply-adds for q8
            // activations on VNNI, else f32 FMA / sgemm.
            let integer = model.effectiveActivationPrecision == .q8 && roofline.int8Gops > 0
            let peak = integer ? max(roofline.gflops, roofline.int8Gops) : roofline.gflops
            f.rooflineStepSeconds = max(Double(model.weightBytes) / (roofline.weightBandwidthGBs * 1e9),
                                        2 * Double(model.parameterCount) * Double(sequences) / (peak * 1e9))
            f.rooflineFraction = f.rooflineStepSeconds / stepSeconds
            return f
        }
    }

    public let model: TransformerModel
    public var promptTokens = 128
    public var decodeSteps = 32
    /// Tokens of the prefix the decoded sequences are forked from.
    public var contextTokens = 32
    public var decodeRepeats = 3
    public var blockSize = SearchEngine.defaultBlockSize

    public init(model: TransformerModel) { self.model = model }

    /// Prefill tokens per second for one `promptTokens` prompt.
    public func prefill() throws -> Double {
        let cache = model.makeCache(memoryBytes: max(64 << 20, (promptTokens + 64) * model.kvLayout().bytesPerToken * 2),
                                    blockSize: blockSize)
        let seq = cache.createSequence()
        let tokens = syntheticTokens(promptTokens)
        let t0 = Date()
        _ = try model.forward([ForwardEntry(sequence: seq, tokens: tokens)], cache: cache)
        return Double(promptTokens) / Date().timeIntervalSince(t0)
    }

    /// Total decode tokens per second with `sequences` branches forked from one prompt
    /// and advanced together, one token each per step: the best of `decodeRepeats` timed
    /// runs of `decodeSteps` steps, each on fresh forks of the same prompt (the bandwidth
    /// and FLOP bounds are best-of too, so both sides of the fraction are a run's best).
    public func decode(sequences n: Int, roofline: Roofline?) throws -> DecodeFigure {
        let perToken = model.kvLayout(blockSize: blockSize).bytesPerToken
        let cache = model.makeCache(memoryBytes: (contextTokens + n * (decodeSteps + 2 * blockSize + 1) + promptTokens) * perToken + (8 << 20),
                                    blockSize: blockSize)
        let root = cache.createSequence()
        _ = try model.forward([ForwardEntry(sequence: root, tokens: syntheticTokens(contextTokens))], cache: cache)
        var seconds = Double.infinity
        for run in 0...max(decodeRepeats, 1) {   // run 0: one untimed warm-up step
            var seqs: [SequenceID] = []
            for _ in 0..<max(n, 1) { seqs.append(try cache.fork(root)) }
            defer { for s in seqs { cache.free(s) } }
            var next = Array(syntheticTokens(n + 7).suffix(n))
            let steps = run == 0 ? 1 : decodeSteps
            let t0 = Date()
            for step in 0..<steps {
                for i in 0..<n { next[i] = (next[i] * 31 + step + i) % model.config.vocabSize }
                let entries = zip(seqs, next).map { ForwardEntry(sequence: $0, tokens: [$1]) }
                _ = try model.forward(entries, cache: cache)
            }
            if run > 0 { seconds = min(seconds, Date().timeIntervalSince(t0)) }
        }
        let figure = DecodeFigure(sequences: n, tokensPerSecond: Double(n * decodeSteps) / seconds, rooflineFraction: 0,
                                  rooflineStepSeconds: 0, stepSeconds: seconds / Double(decodeSteps))
        return roofline.map { figure.against($0, model: model) } ?? figure
    }

    private func syntheticTokens(_ count: Int) -> [Int] {
        (0..<count).map { ($0 * 7919 + 13) % model.config.vocabSize }
    }
}
