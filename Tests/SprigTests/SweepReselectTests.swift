import XCTest
import StepSearch
@testable import Sprig

final class SweepReselectTests: XCTestCase {
    static func node(_ id: Int, parent: Int?, text: String, score: Double, terminal: Bool, tokens: Int) -> TraceNode {
        TraceNode(id: id, parent: parent, tokens: tokens, text: text, stepScores: [score], visits: 1, value: score,
                  score: score, terminal: terminal, pruned: false, stop: terminal ? "endOfSequence" : "tokenLimit")
    }

    /// Root and five Best-of-N children: three finished (answers 7, 5, 5), two unfinished.
    static func handTrace() -> (SearchTrace, [Int: Double]) {
        let nodes = [
            TraceNode(id: 0, parent: nil, tokens: 0, text: "", stepScores: [], visits: 5, value: 0, score: 0,
                      terminal: false, pruned: false, stop: "root"),
            node(1, parent: 0, text: "so the answer is 7", score: 0.9, terminal: true, tokens: 10),
            node(2, parent: 0, text: "the answer is 5", score: 0.4, terminal: true, tokens: 10),
            node(3, parent: 0, text: "hence the answer is 5", score: 0.3, terminal: true, tokens: 20),
            node(4, parent: 0, text: "the answer is 5 and", score: 0.2, terminal: false, tokens: 32),
            node(5, parent: 0, text: "the answer is 9 or", score: 0.99, terminal: false, tokens: 32),
        ]
        let trace = SearchTrace(nodes: nodes, tokensUsed: 104, budget: 160, strategy: "best-of-n", seed: 0,
                                chosen: [0, 1], question: "q", answer: "7")
        // exp(lp / tokens): 1 → 0.905; 2 → 0.819; 3 → 0.928 (group "5" outweighs "7").
        return (trace, [1: -1.0, 2: -2.0, 3: -1.5, 4: -0.1, 5: -0.2])
    }

    func testEveryRuleOnAHandBuiltTrace() {
        let (trace, lp) = Self.handTrace()
        let all = BestOfNReselect.trajectories(trace: trace, logProbs: lp)
        XCTAssertEqual(all.map(\.node), [1, 2, 3, 4, 5])
        let x = FinalAnswerExtractor()
        func pick(_ r: BestOfNSelection, seed: UInt64 = 0) -> Int? {
            BestOfNReselect.pick(all, rule: r, seed: seed, extractor: x).map { all[$0].node }
        }
        XCTAssertEqual(pick(.sprm), 1)            // best SPRM among finished (node 5 is unfinished)
        XCTAssertEqual(pick(.logProb), 1)         // -1.0 beats -1.5 and -2.0 (node 4's -0.1 is unfinished)
        XCTAssertEqual(pick(.majority), 2)        // "5" twice; its best SPRM trajectory
        XCTAssertEqual(pick(.sprmWeighted), 1)    // 0.9 for "7" vs 0.4 + 0.3 for "5"
        XCTAssertEqual(pick(.logProbWeighted), 3) // 0.905 vs 0.819 + 0.928; its best log-prob trajectory
        var randomPicks: Set<Int> = []
        for seed in 0..<64 as Range<UInt64> {
            guard let p = pick(.random, seed: seed) else { return XCTFail("no random pick") }
            randomPicks.insert(p)
        }
        XCTAssertEqual(randomPicks, [1, 2, 3], "random picks among finished trajectories only, and all of them")
    }

    func testNoFinishedTrajectoryAndMissingLogProbs() {
        let (trace, lp) = Self.handTrace()
        var open = trace
        for i in open.nodes.indices { open.nodes[i].terminal = false }
        let all = BestOfNReselect.trajectories(trace: open, logProbs: lp)
        let x = FinalAnswerExtractor()
        XCTAssertEqual(BestOfNReselect.pick(all, rule: .sprm, seed: 0, extractor: x).map { all[$0].node }, 5)
        XCTAssertEqual(BestOfNReselect.pick(all, rule: .majority, seed: 0, extractor: x).map { all[$0].node }, 5)
        XCTAssertEqual(BestOfNReselect.pick(all, rule: .logProb, seed: 0, extractor: x).map { all[$0].node }, 4)
        let noLP = BestOfNReselect.trajectories(trace: trace)
        XCTAssertNil(BestOfNReselect.pick(noLP, rule: .logProb, seed: 0, extractor: x))
        XCTAssertNil(BestOfNReselect.pick(noLP, rule: .logProbWeighted, seed: 0, extractor: x))
        XCTAssertNotNil(BestOfNReselect.pick(noLP, rule: .majority, seed: 0, extractor: x))
        XCTAssertNil(BestOfNReselect.pick([], rule: .sprm, seed: 0, extractor: x))
    }

    /// Re-selection from the trace (plus recorded log-probs) picks what StepSearch's own
    /// BestOfN picks, for every rule, over many seeded sample sets.
    func testAgreesWithBestOfNForEveryRule() throws {
        var disagreements: [String] = []
        var distinctPicks = 0
        for seed in 0..<40 as Range<UInt64> {
            var picks: Set<Int> = []
            for rule in BestOfNSelection.allCases {
                var config = SearchConfig(strategy: .bestOfN, budget: 200)
                config.bestOfN = BestOfNConfig(n: 6, selection: rule, trajectoryTokens: 12)
                config.completionTokens = 0
                let recorder = RecordingPolicy(base: FakeSamplingPolicy())
                let context = config.makeContext(extractor: FinalAnswerExtractor(), seedOverride: seed)
                let result = try config.makeStrategy().run(policy: recorder, context: context)
                let lp = recorder.bestOfNLogProbs(trace: result.trace)
                XCTAssertEqual(lp.count, 6)
                let all = BestOfNReselect.trajectories(trace: result.trace, logProbs: lp)
                let mine = BestOfNReselect.pick(all, rule: rule, seed: seed, extractor: FinalAnswerExtractor()).map { all[$0].node }
                if mine != result.trace.chosen.last { disagreements.append("seed \(seed) \(rule): \(String(describing: mine)) vs \(result.trace.chosen)") }
                picks.insert(result.trace.chosen.last ?? -1)
            }
            if picks.count > 1 { distinctPicks += 1 }
        }
        XCTAssertEqual(disagreements, [])
        XCTAssertGreaterThan(distinctPicks, 10, "the fake samples should make the rules disagree often")
    }

    func testLogProbsAreDroppedWhenChunksDoNotMatchTheTrace() throws {
        let recorder = RecordingPolicy(base: FakeSamplingPolicy())
        let root = try recorder.root()
        let b = try recorder.fork(root)
        _ = try recorder.extend([b], ExtendRequest(maxTokens: 8), budget: TokenBudget(limit: 100), seed: 1)
        let (trace, _) = Self.handTrace()
        XCTAssertEqual(recorder.chunks.count, 1)
        XCTAssertEqual(recorder.bestOfNLogProbs(trace: trace), [:])
    }

    func testOracleCountsFinishedPathsOnly() {
        let nodes = [
            TraceNode(id: 0, parent: nil, tokens: 0, text: "", stepScores: [], visits: 1, value: 0, score: 0,
                      terminal: false, pruned: false, stop: "root"),
            Self.node(1, parent: 0, text: "12*3=36. ", score: 0.5, terminal: false, tokens: 5),
            Self.node(2, parent: 1, text: "The answer is 36", score: 0.5, terminal: true, tokens: 5),
            Self.node(3, parent: 1, text: "The answer is 40", score: 0.5, terminal: true, tokens: 5),
            Self.node(4, parent: 0, text: "The answer is 99", score: 0.5, terminal: false, tokens: 5),
        ]
        let trace = SearchTrace(nodes: nodes, tokensUsed: 20, budget: 20, strategy: "mcts", seed: 0, chosen: [0, 1, 3],
                                question: nil, answer: "40")
        let x = FinalAnswerExtractor()
        XCTAssertTrue(SweepOracle.anyCorrect(trace: trace, chosenAnswer: "40", expected: "36", extractor: x))
        XCTAssertFalse(SweepOracle.anyCorrect(trace: trace, chosenAnswer: "40", expected: "99", extractor: x))
        XCTAssertTrue(SweepOracle.anyCorrect(trace: trace, chosenAnswer: "99", expected: "99", extractor: x))
        XCTAssertFalse(SweepOracle.anyCorrect(trace: trace, chosenAnswer: nil, expected: "12", extractor: x))
    }
}

/// A model-free policy: each branch of an extend draws a length, an answer in 1...3, one step
/// score and a log-prob from (seed, slot); a quarter of the trajectories run out of tokens.
final class FakeSamplingPolicy: SearchPolicy {
    private var next = 0
    private var live: Set<Int> = []

    func root() throws -> BranchID { make() }
    func fork(_ parent: BranchID) throws -> BranchID { make() }
    func release(_ branch: BranchID) { live.remove(branch.raw) }

    private func make() -> BranchID {
        next += 1
        live.insert(next)
        return BranchID(next)
    }

    func extend(_ branches: [BranchID], _ request: ExtendRequest, budget: TokenBudget, seed: UInt64) throws -> [Chunk] {
        branches.enumerated().map { slot, _ in
            var state = seed &+ UInt64(slot + 1) &* 0x9E37_79B9_7F4A_7C15
            func draw() -> UInt64 {
                state = state &+ 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return z ^ (z >> 31)
            }
            let length = 3 + Int(draw() % 8)
            let answer = 1 + draw() % 3
            let runsOut = draw() % 4 == 0
            let score = Double(draw() % 1000) / 1000
            let logProb = -Double(draw() % 1000) / 100
            let want = min(runsOut ? request.maxTokens : length, request.maxTokens)
            var tokens: [Int] = []
            var stop: StopReason = runsOut || want < length ? .tokenLimit : .endOfSequence
            for t in 0..<want {
                guard budget.tryConsume() else { stop = .budget; break }
                tokens.append(t)
            }
            return Chunk(tokens: tokens, text: "work \(slot) \(tokens.count): the answer is \(answer)",
                         stepScores: [score], logProb: logProb, stop: stop)
        }
    }
}
