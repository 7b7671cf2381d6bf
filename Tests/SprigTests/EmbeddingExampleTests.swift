import Foundation
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
}
