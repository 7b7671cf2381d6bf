import XCTest
@testable import StepSearch

final class BaselineTests: XCTestCase {
    /// One step: slot i takes choice i % 4. Choice 0 -> answer "A", SPRM 0.95, p 0.1;
    /// choices 1-3 -> answer "B", SPRM 0.1, p 0.3. With N = 8: two A's, six B's.
    private func voteWorld() -> FakePolicy.World {
        var w = FakePolicy.World()
        w.depth = 1
        w.width = 4
        w.stratified = true
        w.probabilities = [0.1, 0.3, 0.3, 0.3]
        w.stepScore = { $0[0] == 0 ? 0.95 : 0.1 }
        w.answer = { $0[0] == 0 ? "A" : "B" }
        return w
    }

    private func runBoN(_ selection: BestOfNSelection, seed: UInt64 = 3) throws -> (SearchResult, FakePolicy) {
        let fake = FakePolicy(voteWorld())
        let r = try BestOfN(config: BestOfNConfig(n: 8, selection: selection, trajectoryTokens: 100))
            .run(policy: fake, context: SearchContext(budget: TokenBudget(limit: 1000), seed: seed))
        XCTAssertEqual(fake.live, 0)
        XCTAssertEqual(fake.contractErrors, [])
        return (r, fake)
    }

    func testBestOfNSelections() throws {
        let (sprm, fake) = try runBoN(.sprm)
        XCTAssertEqual(sprm.answer, "A")
        XCTAssertEqual(sprm.score, 0.95, accuracy: 1e-12)
        XCTAssertEqual(sprm.trace.chosen, [0, 1], "the first of the two top-scored trajectories")
        XCTAssertEqual(sprm.trace.nodes.count, 9, "root + 8 trajectories")
        XCTAssertEqual(sprm.tokensUsed, 8 * 6)
        XCTAssertEqual(fake.extendCalls, 1, "all 8 in one batched extend")
        XCTAssertEqual(try runBoN(.majority).0.answer, "B", "6 votes against 2")
        XCTAssertEqual(try runBoN(.sprmWeighted).0.answer, "A", "2 x 0.95 against 6 x 0.1")
        let lp = try runBoN(.logProb).0
        XCTAssertEqual(lp.answer, "B")
        XCTAssertEqual(lp.trace.chosen, [0, 2], "the first of the most likely trajectories")
        XCTAssertEqual(try runBoN(.logProbWeighted).0.answer, "B")
    }

    func testRandomPickIsSeeded() throws {
        var picks = Set<Int>()
        for seed in 0..<16 as Range<UInt64> {
            let a = try runBoN(.random, seed: seed).0
            let b = try runBoN(.random, seed: seed).0
            XCTAssertEqual(a.trace.chosen, b.trace.chosen)
            picks.insert(a.trace.chosen[1])
        }
        XCTAssertGreaterThan(picks.count, 2, "different seeds pick different trajectories")
        XCTAssertTrue(picks.isSubset(of: Set(1...8)))
    }

    /// One seed over many problems (a sweep) must not pick the same position every time.
    func testRandomPickVariesAcrossProblemsUnderOneSeed() {
        var picks = Set<Int>()
        for problem in 0..<32 {
            let candidates = (0..<8).map {
                BestOfNSelector.Candidate(text: "problem \(problem) sample \($0)", score: 0.5, logProb: nil, tokens: 4, terminal: true)
            }
            let x = BestOfNSelector.pick(candidates, rule: .random, seed: 7, extractor: BoxedAnswerExtractor())
            XCTAssertEqual(x, BestOfNSelector.pick(candidates, rule: .random, seed: 7, extractor: BoxedAnswerExtractor()))
            picks.insert(try! XCTUnwrap(x))
        }
        XCTAssertGreaterThan(picks.count, 4, "positions drawn per problem, not once per seed")
    }

    func testBestOfNAsManyAsTheBudgetAllows() throws {
        // 6 tokens per trajectory, rounds of 3: 18 + 18 + 4 (cut) = 40.
        let fake = FakePolicy(voteWorld())
        let r = try BestOfN(config: BestOfNConfig(n: nil, selection: .sprm, trajectoryTokens: 100, parallel: 3))
            .run(policy: fake, context: SearchContext(budget: TokenBudget(limit: 40), completionTokens: 0))
        XCTAssertEqual(r.tokensUsed, 40)
        XCTAssertEqual(r.nodes, 10)
        XCTAssertEqual(r.trace.nodes.filter(\.terminal).count, 6)
        XCTAssertEqual(r.trace.nodes.filter { $0.stop == "budget" }.count, 3)
        XCTAssertTrue(r.trace.nodes[r.trace.chosen.last!].terminal, "a finished trajectory wins over cut ones")
        XCTAssertEqual(fake.live, 0)
    }

    func testBeamKeepsExactlyTheTopK() throws {
        let salt: UInt64 = 99
        let width = 2
        let fake = FakePolicy(Worlds.hashed(depth: 3, width: 4, salt: salt, stratified: true))
        let r = try BeamSearch(config: BeamConfig(width: width, expansions: 4, stepTokens: 50))
            .run(policy: fake, context: SearchContext(budget: TokenBudget(limit: 10_000)))
        XCTAssertEqual(fake.live, 0)
        XCTAssertEqual(fake.contractErrors, [])

        // Independent reference: exhaustive beam over the known scores, geometric mean by pow.
        func pathScore(_ cs: [Int]) -> Double {
            let steps = (1...cs.count).map { Worlds.hashScore(Array(cs.prefix($0)), salt: salt) }
            return Foundation.pow(steps.reduce(1, *), 1 / Double(steps.count))
        }
        var beams: [[Int]] = [[]]
        for depth in 1...3 {
            let candidates = beams.flatMap { b in (0..<4).map { b + [$0] } }
            beams = Array(candidates.sorted { pathScore($0) > pathScore($1) }.prefix(width))
            // Kept step nodes at this depth, as choice strings.
            let kept = r.trace.nodes.filter { !$0.pruned && $0.text.hasPrefix("c") }
                .map { n -> String in
                    var ids = [n.id]
                    while let p = r.trace.nodes[ids[0]].parent { ids.insert(p, at: 0) }
                    return Worlds.choices(in: ids.map { r.trace.nodes[$0].text }.joined()).map(String.init).joined()
                }
                .filter { $0.count == depth }
            XCTAssertEqual(kept.count, width, "depth \(depth): exactly k kept")
            XCTAssertEqual(Set(kept), Set(beams.map { $0.map(String.init).joined() }), "depth \(depth)")
        }
        XCTAssertEqual(Worlds.choices(in: r.text), beams[0])
        XCTAssertEqual(r.answer, String(beams[0].reduce(0, +) % 3))
        XCTAssertEqual(r.trace.nodeTokenSum, r.tokensUsed)
        XCTAssertEqual(r.prunedNodes, r.trace.nodes.filter(\.pruned).count)
    }

    func testGreedyAndSample() throws {
        let fake = FakePolicy(Worlds.trap())
        let g = try SingleTrajectory(greedy: true).run(policy: fake, context: SearchContext(budget: TokenBudget(limit: 100)))
        XCTAssertEqual(Worlds.choices(in: g.text), [0, 0, 0, 0])
        XCTAssertEqual(g.tokensUsed, 15)
        XCTAssertEqual(g.trace.nodes.count, 2)
        XCTAssertEqual(g.score, Foundation.pow(0.95 * 0.05 * 0.05 * 0.05, 0.25), accuracy: 1e-12)

        // Cut by the budget at 10 tokens: finished outside it, up to completionTokens.
        let cut = FakePolicy(Worlds.trap())
        let c = try SingleTrajectory(greedy: false).run(policy: cut, context: SearchContext(budget: TokenBudget(limit: 10), completionTokens: 50))
        XCTAssertEqual(c.tokensUsed, 10)
        XCTAssertEqual(c.answerTokens, 5)
        XCTAssertNotNil(c.answer)
        XCTAssertEqual(cut.live, 0)
    }

    func testResultJSONKeys() throws {
        let (r, _) = try runBoN(.sprm)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(r)) as? [String: Any])
        for key in ["answer", "text", "tokens_used", "budget", "nodes", "score", "answer_tokens", "pruned", "interrupted"] {
            XCTAssertNotNil(obj[key], key)
        }
        let trace = try XCTUnwrap(JSONSerialization.jsonObject(with: r.trace.jsonData()) as? [String: Any])
        for key in ["nodes", "tokens_used", "budget", "strategy", "seed", "chosen", "question", "answer"] {
            XCTAssertTrue(trace.keys.contains(key), key)
        }
        let nodes = try XCTUnwrap(trace["nodes"] as? [[String: Any]])
        XCTAssertTrue(nodes[0]["parent"] is NSNull, "root parent is null")
        for key in ["id", "parent", "tokens", "text", "step_scores", "visits", "value", "terminal", "pruned", "stop"] {
            XCTAssertTrue(nodes[1].keys.contains(key), key)
        }
        XCTAssertEqual(try JSONDecoder().decode(SearchTrace.self, from: r.trace.jsonData()), r.trace)
    }
}
