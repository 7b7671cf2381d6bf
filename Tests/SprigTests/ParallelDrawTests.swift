import Foundation
import PagedKV
import StepSearch
import XCTest
@testable import Sprig

/// `extend` splits the draws of many branches (sampling, step detection, SPRM scoring,
/// decoding) over the worker pool; a step observer keeps them on the caller's thread.
/// Each branch owns its generator and state, so both give the same chunks.
final class ParallelDrawTests: XCTestCase {
    func chunks(_ engine: SearchEngine, observe: Bool, presample: Bool = true) throws -> [[Chunk]] {
        let model = engine.model
        let promptIDs = model.tokenizer.encode(try engine.prompt(for: "What is 4821 * 37?"))
        let cache = PagedKVCache(pool: engine.pool)
        defer { XCTAssertEqual(cache.sequenceCount, 0) }
        let policy = try ModelPolicy(model: model, promptIDs: promptIDs, cache: cache, scorer: engine.head, detector: engine.detector)
        policy.presamples = presample
        var steps = 0
        if observe { policy.stepObserver = { _, _, _ in steps += 1 } }
        let request = ExtendRequest(maxTokens: 60, temperature: 1.0, topP: 1.0, repetitionPenalty: 1.05)
        let budget = TokenBudget(limit: 100_000)
        // 16 roots (each draws its first token from the prompt's stored logits), then 4
        // children of each of the first 4 (forks draw from their parent's stored logits).
        let roots = try (0..<16).map { _ in try policy.root() }
        let first = try policy.extend(roots, request, budget: budget, seed: 5)
        let children = try roots.prefix(4).flatMap { r in try (0..<4).map { _ in try policy.fork(r) } }
        let second = try policy.extend(children, request, budget: budget, seed: 6)
        for b in roots + children { policy.release(b) }
        if observe { XCTAssertEqual(steps, (first + second).reduce(0) { $0 + $1.stepScores.count }) }
        return [first, second]
    }

    func testSplitDrawsEqualSerialDraws() throws {
        guard let path = DefaultModel.locate() else { throw XCTSkip("Models/sprig-mult-band not found") }
        let engine = try SearchEngine(model: try LanguageModel.load(path: path), kvMemoryBytes: 64 << 20)
        XCTAssertGreaterThanOrEqual(16, ModelPolicy.minLanesToSplit, "16 branches are split")
        let split = try chunks(engine, observe: false)
        let serial = try chunks(engine, observe: true)
        XCTAssertEqual(split, serial)
        let scores = split.joined().reduce(0) { $0 + $1.stepScores.count }
        XCTAssertGreaterThan(scores, 16, "steps were detected and scored")
        XCTAssertGreaterThan(Set(split.joined().map(\.tokens)).count, 1, "the branches sampled different tokens")
    }

    /// Tokens drawn inside the forward that computed their logits (`presample`, both pool
    /// threads at once for 16 and for 4 branches) are the tokens drawn after it returns.
    func testDrawsInsideTheForwardEqualDrawsAfterIt() throws {
        guard let path = DefaultModel.locate() else { throw XCTSkip("Models/sprig-mult-band not found") }
        let engine = try SearchEngine(model: try LanguageModel.load(path: path), kvMemoryBytes: 64 << 20)
        let inside = try chunks(engine, observe: false, presample: true)
        let after = try chunks(engine, observe: false, presample: false)
        XCTAssertEqual(inside, after)
        XCTAssertGreaterThan(inside.joined().reduce(0) { $0 + $1.tokens.count }, 16 * 20, "many tokens were drawn")
    }

    /// A budget that runs out in the middle of a step: every token charged once, the lanes
    /// charged in order (those still drawing end with the earlier lanes one token ahead),
    /// and the same chunks whether the forward draws ahead or not.
    func testABudgetRunningOutMidStepChargesLanesInOrder() throws {
        guard let path = DefaultModel.locate() else { throw XCTSkip("Models/sprig-mult-band not found") }
        let engine = try SearchEngine(model: try LanguageModel.load(path: path), kvMemoryBytes: 64 << 20)
        let model = engine.model
        let promptIDs = model.tokenizer.encode(try engine.prompt(for: "What is 4821 * 37?"))
        func run(ahead: Bool) throws -> [Chunk] {
            let cache = PagedKVCache(pool: engine.pool)
            let policy = try ModelPolicy(model: model, promptIDs: promptIDs, cache: cache, scorer: engine.head, detector: engine.detector)
            policy.presamples = ahead
            let roots = try (0..<6).map { _ in try policy.root() }
            let budget = TokenBudget(limit: 6 * 9 + 4)
            let chunks = try policy.extend(roots, ExtendRequest(maxTokens: 60, temperature: 1.0, topP: 1.0, repetitionPenalty: 1.05),
                                           budget: budget, seed: 3)
            XCTAssertEqual(chunks.reduce(0) { $0 + $1.tokens.count }, budget.used, "every token charged once")
            XCTAssertEqual(budget.used, budget.limit)
            for b in roots { policy.release(b) }
            XCTAssertEqual(policy.liveBranches, 0)
            return chunks
        }
        let chunks = try run(ahead: true)
        let cut = chunks.filter { $0.stop == .budget }
        XCTAssertFalse(cut.isEmpty, "the budget stopped some lanes")
        let lengths = cut.map(\.tokens.count)
        XCTAssertLessThanOrEqual(lengths.max()! - lengths.min()!, 1)
        XCTAssertEqual(lengths, lengths.sorted(by: >), "earlier lanes were charged first")
        XCTAssertEqual(chunks, try run(ahead: false))
    }
}
