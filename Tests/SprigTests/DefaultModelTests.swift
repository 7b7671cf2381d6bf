import Foundation
import PagedKV
import StepSearch
import XCTest
@testable import Sprig

/// The embedded default (Models/sprig-mult-band: the small multiplication policy and its
/// SPRM head, both trained by Experiments/budget-sweep/train.py) end to end, and the
/// stronger policy of the same task (Models/sprig-mult) against PyTorch.
final class DefaultModelTests: XCTestCase {
    static let engine: SearchEngine? = {
        guard let path = DefaultModel.locate(), let lm = try? LanguageModel.load(path: path) else { return nil }
        return try? SearchEngine(model: lm, kvMemoryBytes: 64 << 20)
    }()

    func engine() throws -> SearchEngine {
        guard let e = Self.engine else { throw XCTSkip("Models/sprig-mult-band not found") }
        return e
    }

    /// What the README's first command does, through the library: a question in plain
    /// words, MCTS under a budget, a bare numeric answer, every token accounted for.
    func testAnswersAQuestionEndToEnd() throws {
        let e = try engine()
        XCTAssertNotNil(e.head, "the default model ships its SPRM head")
        var config = SearchConfig(strategy: .mcts, budget: 1500)
        config.mcts = MCTSConfig(children: 4, childTokens: 64, stopAfterSteps: 2)
        let result = try e.search(question: "What is 4821 * 37?", config: config, seed: 1)
        XCTAssertLessThanOrEqual(result.tokensUsed, 1500)
        XCTAssertEqual(result.trace.nodes.reduce(0) { $0 + $1.tokens }, result.tokensUsed)
        let answer = try XCTUnwrap(result.answer)
        XCTAssertNotNil(Int(answer), "the answer is a bare number, got \(answer)")
        XCTAssertTrue(result.text.contains("</think>"))
        XCTAssertEqual(e.pool.freeCount, e.pool.blockCount, "every KV block is back in the pool")
    }

    /// Questions outside the operand sizes the policy was trained on (the default's
    /// `operand_digits`) are shown to it swapped or scaled, and answered right: greedy
    /// decoding, exact answers. (Before the mapping the policy answered 12 × 34 with 48.)
    func testQuestionsOutsideTheTrainedSizesAreAnswered() throws {
        let e = try engine()
        for (q, expected) in [("What is 12 * 34?", "408"), ("What is 7 * 345?", "2415"), ("What is -12 * 34?", "-408"),
                              ("What is 3.5 * 2?", "7")] {
            let result = try e.search(question: q, config: SearchConfig(strategy: .greedy, budget: 2000), seed: 1)
            XCTAssertEqual(result.answer, expected, q)
        }
    }

    /// Inline SPRM step scores (read from the hidden state that produced each step
    /// token, during generation) equal PyTorch's scores over the finished text, and the
    /// greedy tokens equal transformers' (the model folder's reference.json).
    func testGreedyTokensAndInlineStepScoresMatchPyTorch() throws {
        try checkAgainstPyTorch(try engine())
    }

    /// The same for Models/sprig-mult, the stronger policy of the same task (hard greedy
    /// 0.97; Experiments/budget-sweep, session 3), shipped beside the default.
    func testStrongPolicyMatchesPyTorch() throws {
        guard let path = DefaultModel.locate() else { throw XCTSkip("Models/sprig-mult-band not found") }
        let strong = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("sprig-mult").path
        guard FileManager.default.fileExists(atPath: strong + "/config.json") else { throw XCTSkip("Models/sprig-mult not found") }
        try checkAgainstPyTorch(try SearchEngine(model: try LanguageModel.load(path: strong), kvMemoryBytes: 64 << 20))
    }

    func checkAgainstPyTorch(_ e: SearchEngine) throws {
        struct Case: Decodable { let prompt_ids: [Int]; let greedy_ids: [Int]; let step_logits: [Double] }
        let url = URL(fileURLWithPath: e.model.path).appendingPathComponent("reference.json")
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: url))
        XCTAssertFalse(cases.isEmpty)
        for c in cases {
            let cache = PagedKVCache(pool: e.pool)
            let policy = try ModelPolicy(model: e.model, promptIDs: c.prompt_ids, cache: cache, scorer: e.head,
                                         detector: e.detector)
            let branch = try policy.root()
            let chunk = try policy.extend([branch], ExtendRequest(maxTokens: c.greedy_ids.count, sampling: .greedy),
                                          budget: TokenBudget(limit: 10_000), seed: 0)[0]
            policy.release(branch)
            XCTAssertEqual(chunk.tokens, c.greedy_ids)
            XCTAssertEqual(chunk.stepScores.count, c.step_logits.count)
            // Compared as logits: scores near 0 or 1 would make a probability tolerance vacuous.
            // The reference stores the head's raw f32 logits: an f32 sigmoid near 1 keeps too
            // few bits to give its logit back (1 − p ≈ 1e-7 is a few f32 ulps).
            // The engine's score is a Double probability, so a logit can be read back only to
            // the spacing of Doubles near p: δlogit = δp / (p(1 − p)), e.g. ±0.08 at logit 34
            // (1 − p ≈ 1.3e-15 is ~12 ulps of 1). That resolution is added to the tolerance.
            func logit(_ p: Double) -> Double { log(p) - log1p(-p) }
            for (mine, ref) in zip(chunk.stepScores, c.step_logits) {
                let resolution = mine.ulp / max(mine * (1 - mine), .leastNormalMagnitude)
                XCTAssertEqual(logit(mine), ref, accuracy: 1e-3 + 1e-4 * abs(ref) + resolution, "inline step score vs PyTorch")
            }
        }
    }

    func testPlainWordQuestionsAreCanonicalised() throws {
        let format = TaskFormat(task: "multiplication", promptTemplate: "Q {a} * {b}", generationPrefix: nil,
                                stepPatterns: nil, sampling: nil)
        for (q, expected) in [("What is 4821 * 37?", "Q 4821 * 37"), ("What is 12*345?", "Q 12 * 345"),
                              ("4,821 times 37", "Q 4821 * 37"), ("multiply 12 by 345", "Q 12 * 345"),
                              ("what's 7x8", "Q 7 * 8")] {
            XCTAssertEqual(try format.prompt(for: q, chatPrompt: { $0 }), expected, q)
        }
        for bad in ["What is 4 + 5?", "hello", "1 * 2 * 3"] {
            XCTAssertThrowsError(try format.prompt(for: bad, chatPrompt: { $0 }), bad)
        }
    }

    /// The least-significant-digit-first layout of the shipped policies: `{a:revN}` in the
    /// template, and the reversed answer after </think> read back to its value.
    func testReversedDigitTemplateAndAnswer() throws {
        let format = TaskFormat(task: "multiplication", promptTemplate: "{a} * {b}\n{a:rev10}*{b:rev4}",
                                generationPrefix: nil, stepPatterns: nil, sampling: nil, answerDigits: "reversed")
        XCTAssertEqual(try format.prompt(for: "What is 4821 * 37?", chatPrompt: { $0 }), "4821 * 37\n1284000000*7300")
        XCTAssertEqual(TaskFormat.fill("{b:rev2}", "b", 12345), "54321", "a longer number is written whole")
        let x = format.answerExtractor
        XCTAssertEqual(x.answer(in: "<think>\n1284000000*7300=7473300000.\n\n</think>\n7738710000"), "178377")
        XCTAssertEqual(x.answer(in: "</think>\n0000000000"), "0")
        XCTAssertNil(x.answer(in: "<think>\n1284000000*7300=74733"), "no answer before </think>")
        XCTAssertNil(x.answer(in: "</think>\nno digits"))
        XCTAssertEqual(TaskFormat.chat.answerExtractor.answer(in: "</think>\n7738710000"), "7738710000")
    }
}
