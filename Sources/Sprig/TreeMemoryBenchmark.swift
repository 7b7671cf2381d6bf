import Foundation
import PagedKV
import Transformer

/// Peak memory of a search tree of `treeTokens` tokens (issue 6, target 4), measured on
/// this process: the model's real weights loaded, a real prompt prefill, and a tree grown
/// the way MCTS grows one (each expansion forks `children` children of a seeded-random
/// existing node; every child gets `childTokens` tokens). Each expansion's first token per
/// child is a real batched forward; its other K/V rows are written through the cache
/// (copies of that real row: decoding 160k tokens of a 0.5B model takes hours on 2 cores,
/// and KV memory does not depend on the values). Every node keeps what ModelPolicy keeps
/// per live branch: its next-token logits [vocab] and hidden state [hidden].
public struct TreeMemoryBenchmark {
    public struct Report: Codable, Sendable {
        public var treeTokens: Int
        public var nodes: Int
        public var weightBytes: Int
        public var kvBytesInUse: Int
        public var kvPoolBytes: Int
        public var uniqueTokenBytes: Int
        public var branchStateBytes: Int
        public var rssAfterLoadBytes: Int
        public var peakRSSBytes: Int
        public var rssEndBytes: Int
        public var seconds: Double
        enum CodingKeys: String, CodingKey {
            case treeTokens = "tree_tokens", nodes, weightBytes = "weight_bytes", kvBytesInUse = "kv_bytes_in_use"
            case kvPoolBytes = "kv_pool_bytes", uniqueTokenBytes = "unique_token_bytes"
            case branchStateBytes = "branch_state_bytes", rssAfterLoadBytes = "rss_after_load_bytes"
            case peakRSSBytes = "peak_rss_bytes", rssEndBytes = "rss_end_bytes", seconds
        }
    }

    public let model: TransformerModel
    public var treeTokens = 160_000
    public var promptTokens = 128
    public var children = 4
    public var childTokens = 1024
    public var blockSize = SearchEngine.defaultBlockSize
    /// KV pool size; nil sizes it to the tree (the pool is reserved up front, touched as used).
    public var kvMemoryBytes: Int?
    public var seed: UInt64 = 0

    public init(model: TransformerModel) { self.model = model }

    public func run(progress: ((String) -> Void)? = nil) throws -> Report {
        let c = model.config
        guard promptTokens + childTokens <= c.maxPositions else {
            throw SprigError.invalidArgument("children of \(childTokens) tokens after a \(promptTokens)-token prompt do not fit the model's context of \(c.maxPositions) positions; pass --child-tokens \(max(1, c.maxPositions - promptTokens)) or less")
        }
        let rssAfterLoad = ProcessMemory.current().rss
        let t0 = Date()
        let layout = model.kvLayout(blockSize: blockSize)
        let expansions = max(0, (treeTokens - promptTokens) / (children * childTokens))
        let nodes = 1 + expansions * children
        let poolBytes = kvMemoryBytes ?? (treeTokens + nodes * blockSize + 64) * layout.bytesPerToken
        let cache = model.makeCache(memoryBytes: poolBytes, blockSize: blockSize)
        var rng = SplitMix64(seed: seed)
        let root = cache.createSequence()
        let prompt = (0..<promptTokens).map { _ in Int(rng.next() % UInt64(c.vocabSize)) }
        var out = try model.forward([ForwardEntry(sequence: root, tokens: prompt)], cache: cache)
        // Per node: sequence, logits and hidden state (as ModelPolicy.Branch holds them).
        var seqs = [root]
        var logits = [Array(out.logits(row: 0))]
        var hiddens = [Array(out.penultimateHidden(row: 0))]
        for e in 0..<expansions {
            var parent = seqs[Int(rng.next() % UInt64(seqs.count))]
            if cache.length(parent) + childTokens > c.maxPositions {
                // Too deep for the context: another node that still has room, if any.
                let roomy = seqs.filter { cache.length($0) + childTokens <= c.maxPositions }
                guard !roomy.isEmpty else { break }
                parent = roomy[Int(rng.next() % UInt64(roomy.count))]
            }
            var entries: [ForwardEntry] = []
            for _ in 0..<children {
                let child = try cache.fork(parent)
                seqs.append(child)
                entries.append(ForwardEntry(sequence: child, tokens: [Int(rng.next() % UInt64(c.vocabSize))]))
            }
            out = try model.forward(entries, cache: cache)
            for (row, entry) in entries.enumerated() {
                let first = cache.length(entry.sequence) - 1
                try cache.appendCopies(entry.sequence, count: childTokens - 1, of: first)
                logits.append(Array(out.logits(row: row)))
                hiddens.append(Array(out.penultimateHidden(row: row)))
            }
            if (e + 1) % 8 == 0 {
                progress?("expansion \(e + 1)/\(expansions): \(seqs.count) nodes, KV \(cache.stats.bytesInUse / 1_000_000) MB, RSS \(ProcessMemory.current().rss / 1_000_000) MB")
            }
        }
        let stats = cache.stats
        let end = ProcessMemory.current()
        return Report(treeTokens: stats.tokensStored, nodes: seqs.count, weightBytes: model.weightBytes,
                      kvBytesInUse: stats.bytesInUse, kvPoolBytes: cache.pool.blockCount * layout.blockBytes,
                      uniqueTokenBytes: stats.tokensStored * layout.bytesPerToken,
                      branchStateBytes: seqs.count * (c.vocabSize + c.hiddenSize) * MemoryLayout<Float>.stride,
                      rssAfterLoadBytes: rssAfterLoad, peakRSSBytes: end.peak, rssEndBytes: end.rss,
                      seconds: Date().timeIntervalSince(t0))
    }
}

/// This process's resident memory, from /proc/self/status (VmRSS, VmHWM = peak).
public enum ProcessMemory {
    public static func current() -> (rss: Int, peak: Int) {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
        var rss = 0, peak = 0
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, let kb = Int(parts[1]) else { continue }
            if parts[0] == "VmRSS:" { rss = kb * 1024 }
            if parts[0] == "VmHWM:" { peak = kb * 1024 }
        }
        return (rss, peak)
    }
}
