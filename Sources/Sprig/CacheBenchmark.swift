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
        /// kvBytes / uniqueTokenBytes: 1 is a cache that stores every distinct token once and nothing else.
        public var kvOverUnique: Double
        public var blockSize: Int
        public var tokensPerNode: String
        enum CodingKeys: String, CodingKey {
            case kvBytes = "kv_bytes", kvBytesWithoutSharing = "kv_bytes_without_sharing"
            case reprefilledTokens = "reprefilled_tokens", tokensPerSecond = "tokens_per_s", nodes
            case generatedTokens = "generated_tokens", treeSeconds = "tree_seconds", kvStats = "kv_stats"
            case uniqueTokenBytes = "unique_token_bytes", kvOverUnique = "kv_over_unique", blockSize = "block_size"
            case tokensPerNode = "tokens_per_node"
        }
    }

    public let model: TransformerModel
    public var promptTokens = 200
    public var arity = 4
    public var depth = 4
    /// Tokens each node decodes; a range draws a length per node (from `seed`), so node
    /// ends fall anywhere in a block instead of on the boundaries a fixed 64 gives.
    public var tokensPerNode: ClosedRange<Int> = 64...64
    public var blockSize = SearchEngine.defaultBlockSize
    public var maxBatch = 16
    public var seed: UInt64 = 0

    public init(model: TransformerModel) { self.model = model }

    public func run(progress: ((String) -> Void)? = nil) throws -> Report {
        let c = model.config
        var nodes = 0, level = 1
        for _ in 0..<depth { level *= arity; nodes += level }
        var rng = SplitMix64(seed: seed)
        var lengthRNG = SplitMix64(seed: seed ^ 0x5EED)
        let lengths = (0..<nodes).map { _ in
            tokensPerNode.lowerBound + Int(lengthRNG.next() % UInt64(tokensPerNode.count))
        }
        let unique = promptTokens + lengths.reduce(0, +)
        let perToken = model.kvLayout(blockSize: blockSize).bytesPerToken
        let cache = model.makeCache(memoryBytes: (unique + nodes * 2 * blockSize + 64) * perToken, blockSize: blockSize)
        let prompt = (0..<promptTokens).map { _ in Int(rng.next() % UInt64(c.vocabSize)) }
        let root = cache.createSequence()
        var fed = 0
        let t0 = Date()
        var out = try model.forward([ForwardEntry(sequence: root, tokens: prompt)], cache: cache)
        fed += prompt.count
        // Each live node: its sequence and the logits row for its next token.
        var frontier: [(seq: SequenceID, logits: [Float], path: Int)] = [(root, Array(out.logits(row: 0)), promptTokens)]
        var generated = 0, nodeIndex = 0
        var pathTokens = promptTokens  // a copy-per-child cache holds every node's whole path
        let sampling = SamplingParameters(temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1)
        for d in 0..<depth {
            var children: [(seq: SequenceID, logits: [Float], path: Int)] = []
            var childLengths: [Int] = []
            for parent in frontier {
                for _ in 0..<arity {
                    childLengths.append(lengths[nodeIndex])
                    children.append((try cache.fork(parent.seq), parent.logits, parent.path + lengths[nodeIndex]))
                    pathTokens += parent.path + lengths[nodeIndex]
                    nodeIndex += 1
                }
            }
            var start = 0
            while start < children.count {
                let end = min(start + maxBatch, children.count)
                for step in 0..<(childLengths[start..<end].max() ?? 0) {
                    var entries: [ForwardEntry] = []
                    var rows: [Int] = []
                    for i in start..<end where step < childLengths[i] {
                        rows.append(i)
                        var row = children[i].logits
                        let t = row.withUnsafeMutableBufferPointer {
                            Sampler.sample($0, parameters: sampling, previous: [], rng: &rng).token
                        }
                        entries.append(ForwardEntry(sequence: children[i].seq, tokens: [t]))
                    }
                    out = try model.forward(entries, cache: cache)
                    fed += entries.count
                    generated += entries.count
                    for (row, i) in rows.enumerated() { children[i].logits = Array(out.logits(row: row)) }
                }
                start = end
            }
            progress?("depth \(d + 1): \(children.count) nodes, \(generated) tokens generated, KV \(cache.stats.bytesInUse / 1_000_000) MB")
            frontier = children
        }
        let treeSeconds = Date().timeIntervalSince(t0)
        let stats = cache.stats
        var speeds: [String: Double] = [:]
        var decode = DecodeBenchmark(model: model)
        decode.decodeSteps = 16
        decode.blockSize = blockSize
        for n in [1, 4, 16] { speeds[String(n)] = try decode.decode(sequences: n, roofline: nil).tokensPerSecond }
        return Report(kvBytes: stats.bytesInUse, kvBytesWithoutSharing: pathTokens * perToken,
                      reprefilledTokens: fed - promptTokens - generated, tokensPerSecond: speeds, nodes: nodes,
                      generatedTokens: generated, treeSeconds: treeSeconds, kvStats: stats,
                      uniqueTokenBytes: unique * perToken,
                      kvOverUnique: Double(stats.bytesInUse) / Double(unique * perToken), blockSize: blockSize,
                      tokensPerNode: tokensPerNode.count == 1 ? "\(tokensPerNode.lowerBound)"
                          : "\(tokensPerNode.lowerBound)-\(tokensPerNode.upperBound)")
    }
}
