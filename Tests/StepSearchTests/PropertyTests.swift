import XCTest
@testable import StepSearch

/// Invariants over many random worlds, strategies, budgets, memory limits and seeds.
final class PropertyTests: XCTestCase {
    struct RNG {
        var state: UInt64
        mutating func next() -> UInt64 { state &+= 1; return FakeRandom.mix(state) }
        mutating func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(next() % UInt64(r.count)) }
        mutating func bool() -> Bool { next() & 1 == 1 }
    }

    private func randomStrategy(_ rng: inout RNG) -> SearchStrategy {
        switch rng.int(0...4) {
        case 0: return SingleTrajectory(greedy: rng.bool(), config: SingleConfig(trajectoryTokens: rng.int(1...40)))
        case 1:
            let n: Int? = rng.bool() ? rng.int(1...9) : nil
            let sel = BestOfNSelection.allCases[rng.int(0...BestOfNSelection.allCases.count - 1)]
            return BestOfN(config: BestOfNConfig(n: n, selection: sel, trajectoryTokens: rng.int(1...40),
                                                 parallel: rng.bool() ? rng.int(1...5) : nil))
        case 2:
            return BeamSearch(config: BeamConfig(width: rng.int(1...4), expansions: rng.int(1...4),
                                                 stepTokens: rng.int(1...12), maxDepth: rng.bool() ? rng.int(1...6) : nil))
        default:
            let sel: SelectionRule = rng.bool() ? .puct : .uct
            return MCTS(config: MCTSConfig(children: rng.int(1...5), childTokens: rng.int(1...16),
                                           stopAfterSteps: rng.bool() ? rng.int(1...3) : nil, selection: sel,
                                           exploration: Double(rng.int(0...300)) / 100,
                                           prior: rng.bool() ? .uniform : .logProb))
        }
    }

    private struct Case {
        var world: FakePolicy.World
        var maxLive: Int?
        var budget: Int
        var completion: Int
        var aggregation: ScoreAggregation
        var cancelAfterTokens: Int?
        var seed: UInt64
    }

    private func randomCase(_ rng: inout RNG) -> Case {
        var w = Worlds.hashed(depth: rng.int(1...5), width: rng.int(2...4), salt: rng.next(), stratified: rng.bool())
        w.fillers = rng.int(0...3)
        if rng.int(0...3) == 0 { w.contextLimit = rng.int(1...w.trajectoryLength) }
        let budget = rng.int(0...6) == 0 ? rng.int(0...3) : rng.int(1...400)
        return Case(world: w, maxLive: rng.bool() ? rng.int(2...20) : nil, budget: budget,
                    completion: rng.int(0...20),
                    aggregation: ScoreAggregation.allCases[rng.int(0...ScoreAggregation.allCases.count - 1)],
                    cancelAfterTokens: rng.int(0...4) == 0 ? rng.int(0...200) : nil, seed: rng.next())
    }

    private func run(_ strategy: SearchStrategy, _ c: Case) throws -> (SearchResult, FakePolicy, Data) {
        let fake = FakePolicy(c.world, maxLiveBranches: c.maxLive)
        let budget = TokenBudget(limit: c.budget)
        let limit = c.cancelAfterTokens
        let context = SearchContext(budget: budget, seed: c.seed, aggregation: c.aggregation,
                                    completionTokens: c.completion, question: "p",
                                    isCancelled: { limit.map { budget.used >= $0 } ?? false })
        let r = try strategy.run(policy: fake, context: context)
        XCTAssertEqual(r.tokensUsed, budget.used)
        return (r, fake, try r.trace.jsonData())
    }

    func testInvariantsOverRandomRuns() throws {
        var rng = RNG(state: 20_261_126)
        var interrupted = 0, pruned = 0, completed = 0
        for i in 0..<400 {
            let c = randomCase(&rng)
            let strategy = randomStrategy(&rng)
            let label = "case \(i) \(strategy.name) budget \(c.budget)"
            let (r, fake, json) = try run(strategy, c)
            XCTAssertLessThanOrEqual(r.tokensUsed, c.budget, label)
            XCTAssertEqual(r.trace.nodeTokenSum, r.tokensUsed, label)
            XCTAssertEqual(fake.produced, r.tokensUsed + r.answerTokens, label)
            XCTAssertLessThanOrEqual(r.answerTokens, c.completion, label)
            XCTAssertEqual(fake.live, 0, "\(label): leaked branches")
            XCTAssertEqual(fake.roots + fake.forks, fake.releases, label)
            XCTAssertEqual(fake.contractErrors, [], label)
            XCTAssertEqual(r.nodes, r.trace.nodes.count, label)
            XCTAssertEqual(r.prunedNodes, r.trace.nodes.filter(\.pruned).count, label)
            XCTAssertEqual(r.trace.nodes.first?.parent, nil, label)
            XCTAssertEqual(r.trace.chosen.first, 0, label)
            for (a, b) in zip(r.trace.chosen, r.trace.chosen.dropFirst()) {
                XCTAssertEqual(r.trace.nodes[b].parent, a, label)
            }
            for n in r.trace.nodes.dropFirst() {
                XCTAssertLessThan(n.parent ?? .max, n.id, label)
                XCTAssertTrue(n.value.isFinite && n.score >= 0 && n.score <= 1, label)
            }
            if c.cancelAfterTokens == nil { XCTAssertFalse(r.interrupted, label) }
            // Same seed -> byte-identical trace.
            let (_, _, again) = try run(strategy, c)
            XCTAssertEqual(json, again, "\(label): not deterministic")
            if r.interrupted { interrupted += 1 }
            if r.prunedNodes > 0 { pruned += 1 }
            if r.answerTokens > 0 { completed += 1 }
        }
        // The random cases must actually reach the interesting paths.
        XCTAssertGreaterThan(interrupted, 10)
        XCTAssertGreaterThan(pruned, 10)
        XCTAssertGreaterThan(completed, 10)
    }

    func testDifferentSeedsGiveDifferentTrees() throws {
        let w = Worlds.hashed(depth: 4, width: 4, salt: 5, stratified: false)
        var traces = Set<Data>()
        for seed in 0..<5 as Range<UInt64> {
            let c = Case(world: w, maxLive: nil, budget: 200, completion: 10, aggregation: .geometricMean,
                         cancelAfterTokens: nil, seed: seed)
            traces.insert(try run(MCTS(config: MCTSConfig(children: 3, childTokens: 8)), c).2)
        }
        XCTAssertEqual(traces.count, 5)
    }
}
