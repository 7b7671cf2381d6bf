import Foundation
import PagedKV
import StepSearch
import XCTest
@testable import Sprig

/// A KV cap far below what the search wants: MCTS prunes its weakest subtrees (never the
/// path to the chosen node) and carries on; nothing ever asks the pool for a block it lacks.
final class ReliabilityMemoryTests: XCTestCase {
    /// Trace invariants of a search that pruned: the count matches the trace, and the chosen
    /// path holds no pruned node.
    func checkPruning(pruned: Int, nodes: [(id: Int, pruned: Bool)], chosen: [Int], label: String) {
        XCTAssertGreaterThan(pruned, 0, "\(label): the cap was meant to force pruning")
        XCTAssertEqual(nodes.filter(\.pruned).count, pruned, "\(label): pruned count vs trace")
        let prunedIDs = Set(nodes.filter(\.pruned).map(\.id))
        XCTAssertTrue(prunedIDs.isDisjoint(with: chosen), "\(label): chosen path \(chosen) was pruned")
        XCTAssertEqual(chosen.first, 0, "\(label): the chosen path starts at the root")
    }

    func testMCTSUnderATinyCapPrunesAndFinishes() throws {
        let dir = try TestModels.tinyWithTokenizer()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lm = try LanguageModel.load(path: dir.path)
        let blockBytes = lm.transformer.kvLayout(blockSize: 16).blockBytes
        let engine = try SearchEngine(model: lm, kvMemoryBytes: 10 * blockBytes, blockSize: 16)
        XCTAssertEqual(engine.pool.blockCount, 10)
        var config = SearchConfig(strategy: .mcts, budget: 600)
        config.mcts = MCTSConfig(children: 3, childTokens: 16)
        config.completionTokens = 16
        for seed in UInt64(0)..<3 {
            let result = try engine.search(question: "What is 2+3?", config: config, seed: seed)
            let nodes = result.trace.nodes.map { (id: $0.id, pruned: $0.pruned) }
            checkPruning(pruned: result.prunedNodes, nodes: nodes, chosen: result.trace.chosen, label: "seed \(seed)")
            XCTAssertLessThanOrEqual(result.tokensUsed, 600)
            XCTAssertFalse(result.interrupted)
            XCTAssertEqual(engine.pool.freeCount, engine.pool.blockCount, "seed \(seed): blocks leaked")
            XCTAssertEqual(engine.pool.checkInvariants(), [])
        }
    }

    func testEveryStrategyLivesWithATinyCap() throws {
        let dir = try TestModels.tinyWithTokenizer()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lm = try LanguageModel.load(path: dir.path)
        let engine = try SearchEngine(model: lm, kvMemoryBytes: 6 * lm.transformer.kvLayout(blockSize: 16).blockBytes, blockSize: 16)
        var bon = SearchConfig(strategy: .bestOfN, budget: 300)
        bon.bestOfN = BestOfNConfig(n: 16, selection: .sprm)
        bon.bestOfN.trajectoryTokens = 100
        var beam = SearchConfig(strategy: .beam, budget: 300)
        beam.beam = BeamConfig(width: 4, expansions: 4, stepTokens: 40)
        var greedy = SearchConfig(strategy: .greedy, budget: 300)
        greedy.single.trajectoryTokens = 300
        for config in [bon, beam, greedy] {
            let result = try engine.search(question: "What is 2+3?", config: config, seed: 1)
            XCTAssertLessThanOrEqual(result.tokensUsed, 300, "\(config.strategy)")
            XCTAssertEqual(engine.pool.freeCount, engine.pool.blockCount, "\(config.strategy): blocks leaked")
        }
    }

    /// One batched extend whose branches together need more copy-on-write blocks than the
    /// pool has: the ones that do not fit stop (`.budget`) instead of the forward failing.
    func testBatchedExtendNeverAsksForMissingBlocks() throws {
        let dir = try TestModels.tinyWithTokenizer()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lm = try LanguageModel.load(path: dir.path)
        let engine = try SearchEngine(model: lm, kvMemoryBytes: 6 * lm.transformer.kvLayout(blockSize: 16).blockBytes, blockSize: 16)
        let pool = engine.pool
        do {
            let cache = PagedKVCache(pool: pool)
            // 5 prompt tokens: one shared, partial block; each fed branch must copy it.
            let policy = try ModelPolicy(model: lm, promptIDs: [97, 98, 99, 100, 101], cache: cache, scorer: nil,
                                         detector: engine.detector)
            XCTAssertEqual(pool.freeCount, 5)
            let root = try policy.root()
            let branches = try [root] + (1..<8).map { _ in try policy.fork(root) }
            let budget = TokenBudget(limit: 10_000)
            let request = ExtendRequest(maxTokens: 40, temperature: 1, topP: 1, repetitionPenalty: 1)
            let chunks = try policy.extend(branches, request, budget: budget, seed: 11)
            XCTAssertEqual(chunks.count, 8)
            XCTAssertTrue(chunks.contains { $0.stop == .budget }, "some branch must have been refused memory")
            XCTAssertTrue(chunks.contains { !$0.tokens.isEmpty }, "some branch must have run")
            XCTAssertEqual(budget.used, chunks.reduce(0) { $0 + $1.tokens.count })
            XCTAssertEqual(pool.checkInvariants(), [])
            for b in branches { policy.release(b) }
        }
        XCTAssertEqual(pool.freeCount, pool.blockCount)
    }

    /// Through the binary on SmolLM2: search caches K/V in f16 there (q8 activations), 23 KB
    /// per position, so 8 MiB holds ~364 positions (91 blocks of 4); the prompt and two
    /// expansions of 4 × 32 tokens fill it.
    func testLowKVMemoryOnSmolLM2ThroughTheCLI() throws {
        let model = try TestModels.smolLM2()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sprig-kvcap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let preset = dir.appendingPathComponent("preset.json")
        try Data(#"{"strategy": "mcts", "budget": 384, "completion_tokens": 16, "mcts": {"children": 4, "child_tokens": 32}}"#.utf8)
            .write(to: preset)
        let trace = dir.appendingPathComponent("trace.json")
        let r = try SprigCLI.run(["search", "--model", model, "--question", "What is 17 times 23?", "--config", preset.path,
                                  "--kv-memory", "8MiB", "--json", "--quiet", "--trace", trace.path], timeout: 600)
        XCTAssertFalse(r.signaled, r.stderr)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        let traceJSON = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: trace)) as? [String: Any])
        let nodes = try XCTUnwrap(traceJSON["nodes"] as? [[String: Any]])
        let chosen = try XCTUnwrap(traceJSON["chosen"] as? [Int])
        checkPruning(pruned: json["pruned"] as? Int ?? -1,
                     nodes: nodes.map { (id: $0["id"] as? Int ?? -1, pruned: $0["pruned"] as? Bool ?? false) },
                     chosen: chosen, label: "SmolLM2 8MiB")
        XCTAssertLessThanOrEqual(json["tokens_used"] as? Int ?? .max, 384)
        print("SmolLM2 --kv-memory 8MiB: \(json["nodes"] ?? "?") nodes, \(json["pruned"] ?? "?") pruned, " +
              "\(json["tokens_used"] ?? "?") tokens in \(String(format: "%.1f", r.seconds)) s")
    }
}
