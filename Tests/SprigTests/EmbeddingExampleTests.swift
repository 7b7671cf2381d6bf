import Foundation
import PagedKV
import Sprig          // not @testable: the README's example must compile against the public API
import StepSearch
import XCTest

/// README.md's "Embedding" example, as written there (only the model's path is located),
/// runs through the public API and answers within its budget.
final class EmbeddingExampleTests: XCTestCase {
    func testTheReadmeExampleRuns() throws {
        guard let path = DefaultModel.locate() else { throw XCTSkip("Models/sprig-mult-band not found") }
        let model = try LanguageModel.load(path: path)
        let engine = try SearchEngine(model: model)               // finds sprm.safetensors beside the model
        var config = SearchConfig(strategy: .mcts, budget: 4096)
        config.mcts = MCTSConfig(children: 4, childTokens: 64, stopAfterSteps: 2)
        let result = try engine.search(question: "What is 4821 * 37?", config: config, seed: 1)
        XCTAssertNotNil(result.answer)
        XCTAssertTrue((1...4096).contains(result.tokensUsed), "\(result.tokensUsed) tokens")
        // The figures `sprig bench search` reports, through the same public API.
        let figure = try SearchBenchmark(engine: engine).run(question: "What is 12 * 34?", config: config, searches: 2)
        XCTAssertEqual(figure.searches, 2)
        XCTAssertEqual(figure.answers.values.reduce(0, +), 2)
        XCTAssertGreaterThan(figure.forwardMicrosecondsPerToken, 0)
    }

    /// A strategy written outside the package builds its own result and progress (their
    /// initializers are public), and bad engine settings throw instead of trapping.
    func testCustomStrategyAndBadSettingsThroughThePublicAPI() throws {
        guard let path = DefaultModel.locate() else { throw XCTSkip("Models/sprig-mult-band not found") }
        let model = try LanguageModel.load(path: path)
        for size in [0, -4, 4096] {
            XCTAssertThrowsError(try SearchEngine(model: model, kvMemoryBytes: 64 << 20, blockSize: size), "block size \(size)")
        }
        struct OneSample: SearchStrategy {
            var name: String { "one-sample" }
            func run(policy: SearchPolicy, context: SearchContext) throws -> SearchResult {
                let root = try policy.root()
                defer { policy.release(root) }
                let request = ExtendRequest(maxTokens: 64, temperature: 0, topP: 1)
                let chunk = try XCTUnwrap(policy.extend([root], request, budget: context.budget, seed: context.seed).first)
                context.onProgress?(SearchProgress(tokensUsed: context.budget.used, budget: context.budget.limit, nodes: 1,
                                                   bestScore: 0, tokensPerSecond: 0))
                let node = TraceNode(id: 0, parent: nil, tokens: chunk.tokens.count, text: chunk.text, stepScores: chunk.stepScores,
                                     visits: 1, value: 0, score: 0, terminal: true, pruned: false, stop: chunk.stop.rawValue)
                let trace = SearchTrace(nodes: [node], tokensUsed: context.budget.used, budget: context.budget.limit,
                                        strategy: name, seed: context.seed, chosen: [0], question: context.question,
                                        answer: context.extractor.answer(in: chunk.text))
                return SearchResult(answer: context.extractor.answer(in: chunk.text), text: chunk.text, score: 0,
                                    tokensUsed: context.budget.used, answerTokens: 0, budget: context.budget.limit, nodes: 1,
                                    prunedNodes: 0, interrupted: false, strategy: name, trace: trace)
            }
        }
        // The initializers it needs were internal. Run it on the real model through a policy
        // built as SearchEngine builds its own.
        let engine = try SearchEngine(model: model)
        let question = "What is 4821 * 37?"
        let policy = try ModelPolicy(model: model, promptIDs: engine.promptIDs(for: question),
                                     cache: PagedKVCache(pool: engine.pool), scorer: engine.head, detector: engine.detector)
        var progress = 0
        let context = SearchContext(budget: TokenBudget(limit: 64), extractor: engine.format.extractor(for: question),
                                    question: question, onProgress: { _ in progress += 1 })
        let result = try OneSample().run(policy: policy, context: context)
        XCTAssertEqual(result.tokensUsed, context.budget.used)
        XCTAssertLessThanOrEqual(result.tokensUsed, 64)
        XCTAssertEqual(result.trace.nodes.map(\.tokens).reduce(0, +), result.tokensUsed)
        XCTAssertEqual(progress, 1)
        XCTAssertEqual(policy.liveBranches, 0)
    }

    /// Searches share the engine's KV pool: a second one while the first runs throws
    /// instead of corrupting it.
    func testOverlappingSearchesAreRefused() throws {
        guard let path = DefaultModel.locate() else { throw XCTSkip("Models/sprig-mult-band not found") }
        let engine = try SearchEngine(model: LanguageModel.load(path: path))
        var config = SearchConfig(strategy: .mcts, budget: 512)
        config.mcts = MCTSConfig(children: 4, childTokens: 32)
        var nested: Error?
        let result = try engine.search(question: "What is 12 * 34?", config: config, seed: 1, onProgress: { _ in
            if nested == nil {
                do { _ = try engine.search(question: "What is 5 * 6?", config: config) } catch { nested = error }
            }
        })
        XCTAssertTrue("\(nested.map { "\($0)" } ?? "no error")".contains("already running a search"))
        XCTAssertLessThanOrEqual(result.tokensUsed, 512)
        // And the engine is free again afterwards.
        XCTAssertLessThanOrEqual(try engine.search(question: "What is 5 * 6?", config: config).tokensUsed, 512)
    }
}
