import Kernels
import XCTest
@testable import SPRM

final class StepDetectorTests: XCTestCase {
    // Toy vocabulary: Qwen-like single ".\n\n" (2) and SmolLM2-like split pieces (3, 4, 5).
    static let vocab: [String] = ["Let", " x", ".\n\n", ".", "\n\n", "\n", "<think>", "</think>", " done", ").\n\n", "\n."]
    static let open = 6, close = 7

    func detector(requireTags: Bool = false, tags: Bool = true, patterns: [String] = [".\n\n"]) -> StepDetector {
        StepDetector(patterns: patterns, thinkOpenID: tags ? Self.open : nil, thinkCloseID: tags ? Self.close : nil,
                     requireThinkTags: requireTags, tokenBytes: Self.vocab.map { Array($0.utf8) })
    }

    func testSingleTokenStepsAndClose() {
        let d = detector()
        // <think> Let x .\n\n Let .\n\n </think> Let .\n\n
        XCTAssertEqual(d.stepPositions(tokens: [6, 0, 1, 2, 0, 2, 7, 0, 2]), [3, 5])
        XCTAssertEqual(d.stepPositions(tokens: [6, 0, 9, 0]), [2], "a token containing .\\n\\n counts")
    }

    func testRunKeepsFirst() {
        XCTAssertEqual(detector().stepPositions(tokens: [6, 0, 2, 2, 2, 0, 2]), [2, 6])
        // Split run: "." "\n\n" completes, then ".\n\n" right after is consecutive.
        XCTAssertEqual(detector().stepPositions(tokens: [6, 0, 3, 4, 2, 0, 2]), [3, 6])
    }

    func testStepDirectlyAfterThinkDropped() {
        XCTAssertEqual(detector().stepPositions(tokens: [6, 2, 0, 2]), [3])
        // Also for a split pattern starting at the region's first byte.
        XCTAssertEqual(detector().stepPositions(tokens: [6, 3, 4, 0, 2]), [4])
        // A dropped first step still starts a run.
        XCTAssertEqual(detector().stepPositions(tokens: [6, 2, 2, 0, 2]), [4])
    }

    func testSplitPatterns() {
        let d = detector()
        XCTAssertEqual(d.stepPositions(tokens: [6, 0, 3, 4, 0]), [3], "\".\" + \"\\n\\n\"")
        XCTAssertEqual(d.stepPositions(tokens: [6, 0, 3, 5, 5, 1]), [4], "\".\" + \"\\n\" + \"\\n\"")
        XCTAssertEqual(d.stepPositions(tokens: [6, 0, 3, 5, 1, 5]), [], "interrupted")
        // "\n." then "\n\n": the occurrence ".\n\n" spans both tokens.
        XCTAssertEqual(d.stepPositions(tokens: [6, 0, 10, 4]), [3])
    }

    func testOutsideTags() {
        let strict = detector(requireTags: true)
        XCTAssertEqual(strict.stepPositions(tokens: [0, 2, 6, 0, 2, 7, 0, 2]), [4])
        XCTAssertEqual(strict.stepPositions(tokens: [0, 1, 2, 0, 2]), [], "no <think>: nothing counts when tags are required")
        let loose = detector(requireTags: false)
        XCTAssertEqual(loose.stepPositions(tokens: [0, 1, 2, 6, 0, 2, 7, 0, 2]), [2, 5])
        XCTAssertEqual(loose.stepPositions(tokens: [0, 2, 7, 0, 2]), [1], "</think> without <think> ends the region")
        // A tag resets the text: "." before <think> and "\n\n" after it are no occurrence.
        XCTAssertEqual(loose.stepPositions(tokens: [0, 3, 6, 4, 0, 2]), [5])
        let noTags = detector(tags: false)
        XCTAssertEqual(noTags.stepPositions(tokens: [2, 0, 2, 7, 2]), [2, 4], "without tag ids the stream is all region")
    }

    func testPromptPrimingAndFork() {
        let d = detector(requireTags: true)
        var prompt = d.initialState()
        for t in [0, 1, 6] { XCTAssertFalse(d.observe(t, state: &prompt)) }   // template ends with <think>
        XCTAssertEqual(d.stepPositions(tokens: [0, 2], from: prompt), [1])
        var trunk = prompt
        _ = d.observe(0, state: &trunk)
        _ = d.observe(3, state: &trunk)                 // "." pending
        var a = trunk, b = trunk                        // fork
        XCTAssertTrue(d.observe(4, state: &a))          // "\n\n" completes in branch a
        XCTAssertFalse(d.observe(1, state: &b))         // branch b continues the sentence
        XCTAssertFalse(d.observe(4, state: &b))         // " x" broke the pattern
        XCTAssertEqual(d.stepPositions(tokens: [0, 3, 4], from: prompt), [2])
    }

    func testCustomPatterns() {
        let d = detector(patterns: ["\n\n"])
        XCTAssertEqual(d.stepPositions(tokens: [6, 0, 4, 0, 5, 5, 0, 2]), [2, 5, 7])
    }

    /// Random streams against an independent whole-text reference of the same rule.
    func testRandomStreamsMatchReference() {
        var rng = SplitMix64(seed: 42)
        for requireTags in [false, true] {
            let d = detector(requireTags: requireTags)
            for _ in 0..<400 {
                let n = Int(rng.next() % 24)
                let tokens = (0..<n).map { _ in [0, 1, 2, 3, 4, 5, 5, 3, 9, 10, 6, 7][Int(rng.next() % 12)] }
                XCTAssertEqual(d.stepPositions(tokens: tokens), reference(tokens, requireTags: requireTags), "\(tokens)")
            }
        }
    }

    /// Patterns of 3 to 12 bytes (the tail kept between tokens is 2 to 11 bytes: in a word up
    /// to 8, an array beyond), on streams built from phrases that complete them across tokens.
    func testLongAndShortPatternsMatchReference() {
        var rng = SplitMix64(seed: 7)
        let phrases: [[Int]] = [[0, 1, 2], [4, 0, 1, 3, 5, 5], [0, 1, 3, 4], [9, 4, 0], [1, 10, 4], [8, 2], [5], [3]]
        for pattern in [".\n\n", " x.\n\n", "Let x.\n\n", " x.\n\nLet", "\n\nLet x.\n\n", "\n\nLet x.\n\nLet"] {
            for requireTags in [false, true] {
                let d = detector(requireTags: requireTags, patterns: [pattern])
                for _ in 0..<300 {
                    var tokens: [Int] = rng.next() % 2 == 0 ? [6] : []
                    for _ in 0..<Int(rng.next() % 10) { tokens += phrases[Int(rng.next() % UInt64(phrases.count))] }
                    if rng.next() % 4 == 0 { tokens.insert(7, at: Int(rng.next() % UInt64(tokens.count + 1))) }
                    XCTAssertEqual(d.stepPositions(tokens: tokens), reference(tokens, requireTags: requireTags, pattern: pattern),
                                   "\(pattern.debugDescription) \(tokens)")
                }
            }
        }
    }

    func reference(_ tokens: [Int], requireTags: Bool, pattern: String = ".\n\n") -> [Int] {
        let pat = Array(pattern.utf8)
        // Regions: [start, end) token ranges where steps may count.
        var phase = 0   // 0 before <think>, 1 inside, 2 after </think>
        var regionStart = 0
        var steps: [Int] = []
        var text: [UInt8] = []
        var prevRaw = false
        for (i, t) in tokens.enumerated() {
            if t == Self.open && phase == 0 { phase = 1; regionStart = i + 1; text = []; prevRaw = false; continue }
            if t == Self.close && phase != 2 { phase = 2; continue }
            if phase == 2 { continue }
            let before = text.count
            text += Array(Self.vocab[t].utf8)
            // Occurrences ending inside this token's bytes: end in (before, text.count].
            var lastStart: Int? = nil
            if text.count >= pat.count {
                for s in 0...(text.count - pat.count) where s + pat.count > before && Array(text[s..<(s + pat.count)]) == pat {
                    lastStart = s
                }
            }
            let raw = lastStart != nil && (phase == 1 || !requireTags)
            if raw && !prevRaw && i != regionStart && lastStart != 0 { steps.append(i) }
            prevRaw = raw
        }
        return steps
    }
}
