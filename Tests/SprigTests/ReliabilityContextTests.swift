import Foundation
import PagedKV
import StepSearch
import XCTest
@testable import Sprig

/// A branch that reaches the model's last position becomes terminal (`.contextLimit`);
/// nothing throws. The tiny fixture with `max_position_embeddings` rewritten small.
final class ReliabilityContextTests: XCTestCase {
    func testExtendStopsAtTheContextLimit() throws {
        let dir = try TestModels.tinyWithTokenizer(maxPositions: 12)
        defer { try? FileManager.default.removeItem(at: dir) }
        let lm = try LanguageModel.load(path: dir.path)
        XCTAssertEqual(lm.transformer.config.maxPositions, 12)
        let engine = try SearchEngine(model: lm, kvMemoryBytes: 1 << 20)
        let blocks = engine.pool.blockCount
        do {
            let cache = PagedKVCache(pool: engine.pool)
            let prompt = [97, 98, 99, 100, 101]
            let policy = try ModelPolicy(model: lm, promptIDs: prompt, cache: cache, scorer: nil, detector: engine.detector)
            let a = try policy.root()
            let b = try policy.fork(a)
            let budget = TokenBudget(limit: 1000)
            // Greedy, so the run is the same every time; 100 tokens asked, 12 - 5 = 7 fit.
            let request = ExtendRequest(maxTokens: 100, temperature: 0, topP: 1, repetitionPenalty: 1)
            let chunks = try policy.extend([a, b], request, budget: budget, seed: 7)
            XCTAssertEqual(chunks.count, 2)
            for c in chunks {
                XCTAssertEqual(c.stop, .contextLimit, "tokens \(c.tokens)")
                XCTAssertEqual(c.tokens.count, 12 - prompt.count)
                XCTAssertTrue(c.stop.isTerminal)
            }
            XCTAssertEqual(chunks[0].tokens, chunks[1].tokens, "greedy siblings agree")
            XCTAssertEqual(budget.used, 2 * (12 - prompt.count), "every generated token charged once")
            // Extending a full branch again: no token, no throw, still the context limit.
            let again = try policy.extend([a], request, budget: budget, seed: 8)
            XCTAssertEqual(again.first?.tokens.count, 0)
            XCTAssertEqual(again.first?.stop, .contextLimit)
            XCTAssertEqual(budget.used, 2 * (12 - prompt.count), "a refused position charges nothing")
            policy.release(a)
            policy.release(b)
            XCTAssertEqual(policy.liveBranches, 0)
        }
        XCTAssertEqual(engine.pool.freeCount, blocks, "every block back once the policy is gone")
        XCTAssertEqual(engine.pool.checkInvariants(), [])
    }

    func testPromptFillingTheContextIsAnErrorNotATrap() throws {
        let dir = try TestModels.tinyWithTokenizer(maxPositions: 12)
        defer { try? FileManager.default.removeItem(at: dir) }
        let lm = try LanguageModel.load(path: dir.path)
        let engine = try SearchEngine(model: lm, kvMemoryBytes: 1 << 20)
        var config = SearchConfig(strategy: .mcts, budget: 100)
        config.mcts = MCTSConfig(children: 2, childTokens: 4)
        XCTAssertThrowsError(try engine.search(question: "a question far longer than twelve positions", config: config)) { e in
            XCTAssertTrue("\(e)".contains("exceeds the model's context of 12"), "\(e)")
        }
        XCTAssertEqual(engine.pool.freeCount, engine.pool.blockCount)
    }

    func testSearchesRunIntoTheContextAndFinish() throws {
        // The chat prompt of "2+3?" is 23 tokens here; 17 positions remain for the search.
        let dir = try TestModels.tinyWithTokenizer(maxPositions: 40)
        defer { try? FileManager.default.removeItem(at: dir) }
        let lm = try LanguageModel.load(path: dir.path)
        let engine = try SearchEngine(model: lm, kvMemoryBytes: 2 << 20)
        let promptTokens = lm.tokenizer.encode(try engine.prompt(for: "2+3?")).count
        XCTAssertLessThan(promptTokens, 40)
        let room = 40 - promptTokens
        var configs: [SearchConfig] = []
        var mcts = SearchConfig(strategy: .mcts, budget: 400)
        mcts.mcts = MCTSConfig(children: 3, childTokens: 6)
        configs.append(mcts)
        var bon = SearchConfig(strategy: .bestOfN, budget: 400)
        bon.bestOfN = BestOfNConfig(n: 4, selection: .sprm)
        configs.append(bon)
        configs.append(SearchConfig(strategy: .beam, budget: 400))
        configs.append(SearchConfig(strategy: .greedy, budget: 400))
        for config in configs {
            let result = try engine.search(question: "2+3?", config: config, seed: 3)
            let nodes = result.trace.nodes
            XCTAssertTrue(nodes.contains { $0.stop == StopReason.contextLimit.rawValue && $0.terminal },
                          "\(config.strategy): no node reached the context limit")
            // No root-to-node path is longer than the positions left after the prompt.
            for n in nodes {
                var length = 0
                var cursor: Int? = n.id
                while let c = cursor { length += nodes[c].tokens; cursor = nodes[c].parent }
                XCTAssertLessThanOrEqual(length, room, "\(config.strategy): node \(n.id)")
            }
            XCTAssertEqual(engine.pool.freeCount, engine.pool.blockCount, "\(config.strategy) leaked blocks")
        }
    }
}
