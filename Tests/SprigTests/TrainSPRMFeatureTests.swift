import Foundation
import PagedKV
import SPRM
import StepSearch
import Transformer
import XCTest
@testable import Sprig

/// The features `sprig train-sprm` trains on, and the scores `ModelPolicy` computes inline,
/// must equal what a full forward over the finished trajectory gives at the step positions.
final class TrainSPRMFeatureTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = try TestModels.trainFolder()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Samples 3 branches together, then recomputes the penultimate hidden state of every
    /// position with one prefill of prompt + generated tokens (allPositions) and compares.
    func testStepFeaturesAndInlineScoresEqualFullForwardRecomputation() throws {
        let model = try LanguageModel.load(path: folder)
        let engine = try SearchEngine(model: model, kvMemoryBytes: 8 << 20)
        let promptIDs = model.tokenizer.encode(try engine.prompt(for: "What is 2 + 3?"))
        XCTAssertEqual(model.transformer.config.hiddenSize, 64)
        let head = SPRTrainer.initialHead(inputWidth: 64, hiddenWidth: 16, seed: 7)
        let request = ExtendRequest(maxTokens: 48, temperature: 1.0, topP: 1.0, repetitionPenalty: 1.0)

        let cache = PagedKVCache(pool: engine.pool)
        var observed: [Int: [(index: Int, hidden: [Float])]] = [:]
        var chunks: [Chunk] = []
        var roots: [BranchID] = []
        do {
            let policy = try ModelPolicy(model: model, promptIDs: promptIDs, cache: cache, scorer: head, detector: engine.detector)
            roots = try (0..<3).map { _ in try policy.root() }
            policy.stepObserver = { branch, index, hidden in observed[branch.raw, default: []].append((index, Array(hidden))) }
            chunks = try policy.extend(roots, request, budget: TokenBudget(limit: 1000), seed: 11)
            for r in roots { policy.release(r) }
        }
        XCTAssertEqual(cache.sequenceCount, 0)

        var promptState = engine.detector.initialState()
        for t in promptIDs { _ = engine.detector.observe(t, state: &promptState) }
        var checkedSteps = 0
        var maxDiff: Float = 0, maxScoreDiff = 0.0
        for (slot, root) in roots.enumerated() {
            let chunk = chunks[slot]
            let steps = observed[root.raw] ?? []
            // Positions: the observer's indices are the detector's step positions over the chunk.
            XCTAssertEqual(steps.map(\.index), engine.detector.stepPositions(tokens: chunk.tokens, from: promptState))
            XCTAssertEqual(chunk.stepScores.count, steps.count)
            guard !steps.isEmpty else { continue }
            // Tokens actually fed to the model (a final stop token is sampled but never fed).
            let fed = chunk.stop == .endOfSequence ? Array(chunk.tokens.dropLast()) : chunk.tokens
            let seq = cache.createSequence()
            let out = try model.transformer.forward([ForwardEntry(sequence: seq, tokens: promptIDs + fed, allPositions: true)],
                                                    cache: cache)
            XCTAssertEqual(out.rows, promptIDs.count + fed.count)
            for (n, step) in steps.enumerated() {
                // Step token at absolute position P + j is produced by position P + j - 1.
                let row = promptIDs.count + step.index - 1
                let reference = Array(out.penultimateHidden(row: row))
                XCTAssertEqual(step.hidden.count, reference.count)
                let scale = reference.map { abs($0) }.max() ?? 1
                let diff = zip(step.hidden, reference).map { abs($0 - $1) }.max() ?? 0
                maxDiff = max(maxDiff, diff / max(scale, 1))
                let recomputed = head.score(reference)
                maxScoreDiff = max(maxScoreDiff, abs(recomputed - chunk.stepScores[n]))
                checkedSteps += 1
            }
            cache.free(seq)
        }
        XCTAssertGreaterThanOrEqual(checkedSteps, 10, "too few steps to make the comparison meaningful")
        XCTAssertLessThan(maxDiff, 1e-4, "features differ from the full-forward hidden states")
        XCTAssertLessThan(maxScoreDiff, 1e-5, "inline step scores differ from scores recomputed over the finished text")
    }

    /// The sampler labels each trajectory by its extracted answer and returns one feature per step.
    func testSamplerLabelsAndFeatureShapes() throws {
        let model = try LanguageModel.load(path: folder)
        let engine = try SearchEngine(model: model, kvMemoryBytes: 8 << 20)
        var settings = TrainSPRMSampling()
        settings.samples = 4
        settings.maxTokens = 32
        settings.temperature = 1.0
        let sampler = TrainSPRMSampler(engine: engine, settings: settings)
        let a = try sampler.sample(Problem(id: "0", question: "1 + 1?", answer: "2"), problemID: 5)
        let b = try sampler.sample(Problem(id: "0", question: "1 + 1?", answer: "2"), problemID: 5)
        XCTAssertEqual(a.count, 4)
        XCTAssertEqual(a.map(\.text), b.map(\.text), "sampling must be deterministic in (seed, problem)")
        XCTAssertNotEqual(Set(a.map(\.text)).count, 1, "the k samples should differ")
        for t in a {
            XCTAssertEqual(t.problemID, 5)
            XCTAssertTrue(t.features.allSatisfy { $0.count == 64 })
            XCTAssertEqual(t.answer, FinalAnswerExtractor().answer(in: t.text))
            XCTAssertEqual(t.correct, AnswerCheck.isCorrect(t.answer, expected: "2"))
            XCTAssertLessThanOrEqual(t.tokenCount, 32)
        }
        XCTAssertGreaterThan(a.map(\.features.count).reduce(0, +), 0)
        // --step-pattern replaces the format's patterns: one that never occurs gives no features.
        settings.stepPatterns = ["never-in-random-text"]
        let none = try TrainSPRMSampler(engine: engine, settings: settings).sample(
            Problem(id: "0", question: "1 + 1?", answer: "2"), problemID: 5)
        XCTAssertEqual(none.map(\.text), a.map(\.text), "same sampling, only the detector differs")
        XCTAssertTrue(none.allSatisfy { $0.features.isEmpty })
        XCTAssertEqual(engine.pool.freeCount, engine.pool.blockCount, "every KV block back in the pool")
    }
}
