import Foundation
import PagedKV
import Transformer

/// Grows a tree the way a search does (every node forks `arity` children that
/// decode `tokensPerNode` tokens each, siblings batched) and reports what the
/// paged copy-on-write cache saved (issue 3).
public struct CacheBenchmark {
    public struct Report: Codable, Sendable {
        public var kvBytes: Int
        public var kvBytesWithoutSharing: Int
        public var reprefilledTokens: Int
        public var tokensPerSecond: [String: Double]
        public var nodes: Int
        public var generatedTokens: Int
        public var treeSeconds: Double
        public var kvStats: KVStats
        /// Unique tokens × bytes per token: the floor a perfectly shared cache reaches.
        public var uniqueTokenBytes: Int
        enum CodingKeys: String, CodingKey {
            case kvBytes = "kv_bytes", kvBytesWithoutSharing = "kv_bytes_without_sharing"
            case reprefilledTokens = "reprefilled_tokens", tokensPerSecond = "tokens_per_s", nodes
            case generatedTokens = "generated_tokens", treeSeconds = "tree_seconds", kvStats = "kv_stats"
            case uniqueTokenBytes = "unique_token_bytes"
        }
    }

    public let model: TransformerModel
    public var promptTokens = 200
    public var arity = 4
    public var depth = 4
    public var tokensPerNode = 64
    public var maxBatch = 16
    public var seed: UInt64 = 0

    public init(model: TransformerModel) { self.model = model }

    public func run(progress: ((String) -> Void)? = nil) throws -> Report {
        let c = model.config
        var nodes = 0, level = 1
        for _ in 0..<depth { level *= arity; nodes += level }
        let unique = promptTokens + nodes * tokensPerNode
        let perToken = model.kvLayout().bytesPerToken
        let cache = model.makeCache(memoryBytes: (unique + nodes * 32 + 64) * perToken)
        var rng = SplitMix64(seed: seed)
        let prompt = (0..<promptTokens).map { _ in Int(rng.next() % UInt64(c.vocabSize)) }
        let root = cache.createSequence()
        var fed = 0
        let t0 = Date()
        var out = try model.forward([ForwardEntry(sequence: root, tokens: prompt)], cache: cache)
        fed += prompt.count
        // Each live node: its sequence and the logits row for its next token.
        var frontier: [(seq: SequenceID, logits: [Float])] = [(root, Array(out.logits(row: 0)))]
        var generated = 0
        let sampling = SamplingParameters(temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1)
        for d in 0..<depth {
            var children: [(seq: SequenceID, logits: [Float])] = []
            for parent in frontier {
                for _ in 0..<arity { children.append((try cache.fork(parent.seq), parent.logits)) }
            }
            var start = 0
            while start < children.count {
                let end = min(start + maxBatch, children.count)
                for _ in 0..<tokensPerNode {
                    var entries: [ForwardEntry] = []
                    for i in start..<end {
                        var row = children[i].logits
                        let t = row.withUnsafeMutableBufferPointer {
                            Sampler.sample($0, parameters: sampling, previous: [], rng: &rng).token
                        }
                        entries.append(ForwardEntry(sequence: children[i].seq, tokens: [t]))
                    }
                    out = try model.forward(entries, cache: cache)
                    fed += entries.count
                    generated += entries.count
                    for i in start..<end { children[i].logits = Array(out.logits(row: i - start)) }
                }
                start = end
            }
            progress?("depth \(d + 1): \(children.count) nodes, \(generated) tokens generated, KV \(cache.stats.bytesInUse / 1_000_000) MB")
            frontier = children
        }
        let treeSeconds = Date().timeIntervalSince(t0)
        let stats = cache.stats
        // A copy-per-child cache holds every node's whole path (the root's prompt too).
        var pathTokens = promptTokens
        level = 1
        for d in 1...depth { level *= arity; pathTokens += level * (promptTokens + d * tokensPerNode) }
        var speeds: [String: Double] = [:]
        var decode = DecodeBenchmark(model: model)
        decode.decodeSteps = 16
        for n in [1, 4, 16] { speeds[String(n)] = try decode.decode(sequences: n, roofline: nil).tokensPerSecond }
        return Report(kvBytes: stats.bytesInUse, kvBytesWithoutSharing: pathTokens * perToken,
                      reprefilledTokens: fed - promptTokens - generated, tokensPerSecond: speeds, nodes: nodes,
                      generatedTokens: generated, treeSeconds: treeSeconds, kvStats: stats,
                      uniqueTokenBytes: unique * perToken)
    }
}
