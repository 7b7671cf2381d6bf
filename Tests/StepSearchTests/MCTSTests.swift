import XCTest
@testable import StepSearch

final class MCTSTests: XCTestCase {
    private func context(_ budget: Int, seed: UInt64 = 1, completion: Int = 64) -> SearchContext {
        SearchContext(budget: TokenBudget(limit: budget), seed: seed, completionTokens: completion, question: "q?")
    }

    private func assertClean(_ fake: FakePolicy, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(fake.live, 0, "leaked branches", file: file, line: line)
        XCTAssertEqual(fake.roots + fake.forks, fake.releases, file: file, line: line)
        XCTAssertEqual(fake.contractErrors, [], file: file, line: line)
    }

    func testFindsHiddenPathPastTheTrap() throws {
        let fake = FakePolicy(Worlds.trap())
        let mcts = MCTS(config: MCTSConfig(children: 4, childTokens: 64, stopAfterSteps: 1))
        let r = try mcts.run(policy: fake, context: context(300))
        XCTAssertEqual(r.answer, "42")
        XCTAssertEqual(Worlds.choices(in: r.text), Worlds.correct)
        XCTAssertEqual(r.score, 0.9, accuracy: 1e-12)
        XCTAssertEqual(r.answerTokens, 0, "the chosen trajectory finished inside the search")
        XCTAssertLessThanOrEqual(r.tokensUsed, 300)
        XCTAssertEqual(r.trace.nodeTokenSum, r.tokensUsed)
        XCTAssertEqual(fake.produced, r.tokensUsed)
        // The trap was tried first (it looked best, 0.95) and then backed off: after backup its
        // mean value is below the correct child's, which got most of the search.
        let trapChild = try XCTUnwrap(r.trace.nodes.first { $0.parent == 0 && $0.text.hasPrefix("c0") })
        let goodChild = try XCTUnwrap(r.trace.nodes.first { $0.parent == 0 && $0.text.hasPrefix("c2") })
        XCTAssertGreaterThan(trapChild.visits, 1, "the trap was expanded")
        XCTAssertLessThan(trapChild.value, 0.5)
        XCTAssertGreaterThan(goodChild.value, trapChild.value)
        XCTAssertGreaterThan(goodChild.visits, 2 * trapChild.visits)
        // Chosen path is a real root→leaf chain ending in a terminal node.
        XCTAssertEqual(r.trace.chosen.first, 0)
        for (a, b) in zip(r.trace.chosen, r.trace.chosen.dropFirst()) { XCTAssertEqual(r.trace.nodes[b].parent, a) }
        XCTAssertTrue(r.trace.nodes[r.trace.chosen.last!].terminal)
        assertClean(fake)

        // Greedy walks into the trap.
        let g = FakePolicy(Worlds.trap())
        let greedy = try SingleTrajectory(greedy: true).run(policy: g, context: context(300))
        XCTAssertEqual(greedy.answer, "7")
        assertClean(g)
    }

    func testUCTFindsItToo() throws {
        let fake = FakePolicy(Worlds.trap())
        let cfg = MCTSConfig(children: 4, childTokens: 64, stopAfterSteps: 1, selection: .uct, exploration: 2.0.squareRoot())
        let r = try MCTS(config: cfg).run(policy: fake, context: context(1500))
        XCTAssertEqual(r.answer, "42")
        assertClean(fake)
    }

    private func solveRate(_ strategy: SearchStrategy, budget: Int, seeds: Int = 40) throws -> Int {
        var found = 0
        for seed in 0..<UInt64(seeds) {
            let fake = FakePolicy(Worlds.trap(stratified: false))
            let r = try strategy.run(policy: fake, context: context(budget, seed: seed))
            if r.answer == "42" { found += 1 }
            XCTAssertLessThanOrEqual(r.tokensUsed, budget)
            assertClean(fake)
        }
        return found
    }

    func testSampledWorldWideningRecoversFromUnluckyBatches() throws {
        // Unstratified sampling: a batch of 4 misses the right step with p = 0.8^4 = 0.41, so
        // leaf-only MCTS is stuck below unlucky batches (measured 12/40 at any budget);
        // widening re-samples those nodes and keeps improving with budget (35/40 at 1200).
        // A whole trajectory is right with p = 0.2^3 * 0.4 = 0.0032, so Best-of-N (80
        // trajectories in 1200 tokens) rarely finds it.
        let step = MCTSConfig(children: 4, childTokens: 64, stopAfterSteps: 1, widening: false)
        var widenedConfig = step
        widenedConfig.widening = true
        let leafOnly = try solveRate(MCTS(config: step), budget: 1200)
        let widened = try solveRate(MCTS(config: widenedConfig), budget: 1200)
        let widenedSmall = try solveRate(MCTS(config: widenedConfig), budget: 300)
        let bon = try solveRate(BestOfN(config: BestOfNConfig(n: nil, trajectoryTokens: 64, parallel: 8)), budget: 1200)
        print("trap world solve rates /40 at 1200 tokens: widening \(widened), leaf-only \(leafOnly), Best-of-N \(bon); widening at 300: \(widenedSmall)")
        XCTAssertGreaterThanOrEqual(widened, 30, "widening: \(widened)/40")
        XCTAssertLessThanOrEqual(leafOnly, 20, "leaf-only: \(leafOnly)/40")
        XCTAssertGreaterThan(widened, widenedSmall + 10, "more budget helps: \(widenedSmall)/40 at 300")
        XCTAssertGreaterThan(widened, bon + 15, "Best-of-N: \(bon)/40")
    }

    func testPaperShapedChunksCompleteTheBestNode() throws {
        // Fixed-length chunks (stopAfterSteps nil) of 5 tokens; the budget ends mid-trajectory,
        // so the best node is finished outside the budget, capped by completionTokens.
        let fake = FakePolicy(Worlds.trap())
        let r = try MCTS(config: MCTSConfig(children: 4, childTokens: 5)).run(policy: fake, context: context(40))
        XCTAssertEqual(r.tokensUsed, 40)
        XCTAssertGreaterThan(r.answerTokens, 0)
        XCTAssertNotNil(r.answer)
        XCTAssertEqual(fake.produced, r.tokensUsed + r.answerTokens)
        XCTAssertEqual(r.trace.completionTokens, r.answerTokens)
        XCTAssertEqual(r.trace.nodeTokenSum, 40)
        assertClean(fake)

        let capped = FakePolicy(Worlds.trap())
        let c = try MCTS(config: MCTSConfig(children: 4, childTokens: 5)).run(policy: capped, context: context(40, completion: 2))
        XCTAssertEqual(c.answerTokens, 2)
        assertClean(capped)
    }

    func testBudgetTooSmallForOneChildStillValid() throws {
        for budget in [0, 1, 3] {
            let fake = FakePolicy(Worlds.trap())
            let r = try MCTS().run(policy: fake, context: context(budget, completion: 0))
            XCTAssertEqual(r.tokensUsed, min(budget, fake.produced))
            XCTAssertLessThanOrEqual(r.tokensUsed, budget)
            XCTAssertEqual(r.trace.nodeTokenSum, r.tokensUsed)
            XCTAssertFalse(r.interrupted)
            XCTAssertNil(r.answer)
            XCTAssertNoThrow(try r.trace.jsonData())
            assertClean(fake)
        }
    }

    func testMemoryPressurePrunesButKeepsTheBestPath() throws {
        let fake = FakePolicy(Worlds.trap(), maxLiveBranches: 14)
        let r = try MCTS(config: MCTSConfig(children: 4, childTokens: 64, stopAfterSteps: 1)).run(policy: fake, context: context(400))
        XCTAssertGreaterThan(r.prunedNodes, 0)
        XCTAssertEqual(r.prunedNodes, r.trace.nodes.filter(\.pruned).count)
        XCTAssertEqual(r.answer, "42")
        for id in r.trace.chosen { XCTAssertFalse(r.trace.nodes[id].pruned, "chosen node \(id) pruned") }
        assertClean(fake)
    }

    func testCancellationIsAnytime() throws {
        // Cancelled before the first expansion: a valid empty result.
        let f0 = FakePolicy(Worlds.trap())
        let r0 = try MCTS().run(policy: f0, context: SearchContext(budget: TokenBudget(limit: 500), isCancelled: { true }))
        XCTAssertTrue(r0.interrupted)
        XCTAssertEqual(r0.tokensUsed, 0)
        XCTAssertEqual(f0.extendCalls, 0)
        assertClean(f0)

        // Cancelled from the progress callback after 3 expansions.
        let flag = Flag()
        var calls = 0
        let f1 = FakePolicy(Worlds.trap())
        let ctx = SearchContext(budget: TokenBudget(limit: 5000), completionTokens: 100, isCancelled: { flag.isSet },
                                onProgress: { _ in calls += 1; if calls == 3 { flag.set() } })
        let start = Date()
        let r1 = try MCTS(config: MCTSConfig(children: 4, childTokens: 64, stopAfterSteps: 1)).run(policy: f1, context: ctx)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
        XCTAssertTrue(r1.interrupted)
        XCTAssertEqual(f1.extendCalls, 3, "no completion extend after cancellation")
        XCTAssertEqual(r1.trace.nodes.count, 13)
        XCTAssertEqual(r1.trace.nodeTokenSum, r1.tokensUsed)
        assertClean(f1)

        // Cancelled inside an extend: the policy stops the branches with .cancelled.
        let budget = TokenBudget(limit: 5000)
        let f2 = FakePolicy(Worlds.trap())
        let ctx2 = SearchContext(budget: budget, isCancelled: { budget.used >= 10 })
        let r2 = try MCTS(config: MCTSConfig(children: 4, childTokens: 64)).run(policy: f2, context: ctx2)
        XCTAssertTrue(r2.interrupted)
        XCTAssertEqual(r2.tokensUsed, 12, "stopped at the first decode step after the flag turned")
        XCTAssertTrue(r2.trace.nodes.contains { $0.stop == "cancelled" })
        assertClean(f2)
    }

    func testSelectionScores() {
        var child = SearchTree.Node(id: 1, parent: 0)
        child.visits = 1
        child.totalValue = 0.5
        child.prior = 0.25
        let puct = MCTS(config: MCTSConfig(selection: .puct, exploration: 1.25))
        // 0.5 + 1.25 * 0.25 * sqrt(16) / 2
        XCTAssertEqual(puct.selectionScore(child, parentVisits: 16), 0.5 + 0.625, accuracy: 1e-12)
        let uct = MCTS(config: MCTSConfig(selection: .uct, exploration: 2))
        // 0.5 + 2 * sqrt(ln 16 / 1)
        XCTAssertEqual(uct.selectionScore(child, parentVisits: 16), 0.5 + 2 * Foundation.log(16.0).squareRoot(), accuracy: 1e-12)
    }
}
