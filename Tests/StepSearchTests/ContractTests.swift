import XCTest
@testable import StepSearch

/// A policy that drops the last chunk of every extend (a contract breach).
private final class ShortPolicy: SearchPolicy {
    let inner: FakePolicy
    init(_ inner: FakePolicy) { self.inner = inner }
    func root() throws -> BranchID { try inner.root() }
    func fork(_ parent: BranchID) throws -> BranchID { try inner.fork(parent) }
    func release(_ branch: BranchID) { inner.release(branch) }
    func extend(_ branches: [BranchID], _ request: ExtendRequest, budget: TokenBudget, seed: UInt64) throws -> [Chunk] {
        Array(try inner.extend(branches, request, budget: budget, seed: seed).dropLast())
    }
}

/// A policy whose extend always throws (e.g. a model error).
private final class FailingPolicy: SearchPolicy {
    let inner: FakePolicy
    init(_ inner: FakePolicy) { self.inner = inner }
    func root() throws -> BranchID { try inner.root() }
    func fork(_ parent: BranchID) throws -> BranchID { try inner.fork(parent) }
    func release(_ branch: BranchID) { inner.release(branch) }
    func extend(_ branches: [BranchID], _ request: ExtendRequest, budget: TokenBudget, seed: UInt64) throws -> [Chunk] {
        throw FakeError.deadBranch
    }
}

final class ContractTests: XCTestCase {
    private let strategies: [SearchStrategy] = [
        SingleTrajectory(greedy: true), BestOfN(), BeamSearch(), MCTS(),
    ]

    func testBrokenPolicyGivesTypedErrorAndNoLeak() {
        for s in strategies {
            let fake = FakePolicy(Worlds.trap())
            XCTAssertThrowsError(try s.run(policy: ShortPolicy(fake), context: SearchContext(budget: TokenBudget(limit: 100)))) {
                guard case StepSearchError.policyContract = $0 else { return XCTFail("\(s.name): \($0)") }
            }
            XCTAssertEqual(fake.live, 0, s.name)
        }
    }

    func testPolicyErrorsPassThroughWithoutLeaks() {
        for s in strategies {
            let fake = FakePolicy(Worlds.trap())
            XCTAssertThrowsError(try s.run(policy: FailingPolicy(fake), context: SearchContext(budget: TokenBudget(limit: 100)))) {
                XCTAssertEqual($0 as? FakeError, .deadBranch, s.name)
            }
            XCTAssertEqual(fake.live, 0, s.name)
        }
    }

    func testUsedBudgetIsRejected() {
        let budget = TokenBudget(limit: 10)
        XCTAssertTrue(budget.tryConsume(1))
        XCTAssertThrowsError(try MCTS().run(policy: FakePolicy(Worlds.trap()), context: SearchContext(budget: budget))) {
            XCTAssertEqual($0 as? StepSearchError, .budgetNotFresh(used: 1))
        }
    }

    func testProgressReports() throws {
        var reports: [SearchProgress] = []
        let ctx = SearchContext(budget: TokenBudget(limit: 120), onProgress: { reports.append($0) })
        let r = try MCTS(config: MCTSConfig(children: 4, childTokens: 64, stopAfterSteps: 1))
            .run(policy: FakePolicy(Worlds.trap()), context: ctx)
        XCTAssertEqual(reports.count, 10, "one per expansion: 120 tokens / 12")
        XCTAssertEqual(reports.map(\.tokensUsed), Array(stride(from: 12, through: 120, by: 12)))
        XCTAssertEqual(reports.last?.nodes, r.nodes)
        XCTAssertTrue(reports.allSatisfy { $0.budget == 120 && $0.tokensPerSecond >= 0 })
        XCTAssertEqual(reports.last?.bestScore ?? 0, 0.95, accuracy: 1e-12)
    }
}
