import XCTest
import StepSearch
@testable import Sprig

final class SweepSpecTests: XCTestCase {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func parse(_ json: String) throws -> SweepSpec {
        try SweepSpec.parse(Data(json.utf8), file: "s.json", folder: Self.repoRoot + "/Configs")
    }

    func error(_ json: String) -> String {
        do { _ = try parse(json); return "" } catch { return "\(error)" }
    }

    func testPointsAndSelections() throws {
        let spec = try parse("""
        {"seeds": [1, 2], "configurations": [
          {"name": "bon", "preset": {"strategy": "best-of-n", "best_of_n": {"trajectory_tokens": 300}},
           "n": [2, 8], "selections": ["majority", "sprm"]},
          {"name": "bon-b", "preset": "bon-small.json", "budgets": [1000]},
          {"name": "mcts", "preset": "mcts-small.json", "budgets": [512, 1024]},
          {"name": "greedy", "preset": "greedy-small.json"}]}
        """)
        XCTAssertEqual(spec.seeds, [1, 2])
        let bon = spec.configurations[0]
        XCTAssertEqual(bon.points, [SweepPoint(budget: 600, n: 2), SweepPoint(budget: 2400, n: 8)])
        XCTAssertEqual(bon.selections, [.majority, .sprm])
        XCTAssertEqual(bon.config(at: bon.points[1]).bestOfN.n, 8)
        XCTAssertEqual(bon.config(at: bon.points[1]).budget, 2400)
        XCTAssertEqual(spec.configurations[1].selections, [.sprm])   // the preset's rule
        XCTAssertEqual(spec.configurations[1].points, [SweepPoint(budget: 1000)])
        XCTAssertEqual(spec.configurations[2].points.map(\.budget), [512, 1024])
        XCTAssertNil(spec.configurations[2].selections)
        XCTAssertEqual(spec.configurations[3].points, [SweepPoint(budget: 512)])   // the preset's budget
        let tasks = SweepTask.all(spec: spec, problems: [Problem(id: "x", question: "q", answer: "1")])
        XCTAssertEqual(tasks.count, 2 * (2 + 1 + 2 + 1))
        XCTAssertEqual(tasks.reduce(0) { $0 + $1.rowKeys.count }, 2 * (2 * 2 + 1 + 2 + 1))
    }

    func testErrors() {
        XCTAssertTrue(error("[]").contains("not a JSON object"))
        XCTAssertTrue(error("{\"configurations\": []}").contains("non-empty list"))
        XCTAssertTrue(error("{\"seeds\": [1, 1], \"configurations\": [{\"name\": \"g\", \"preset\": \"greedy-small.json\"}]}").contains("repeats"))
        XCTAssertTrue(error("{\"configurations\": [{\"name\": \"g\", \"preset\": \"nope.json\"}]}").contains("preset 'nope.json' not found"))
        XCTAssertTrue(error("{\"configurations\": [{\"name\": \"g\", \"preset\": \"greedy-small.json\", \"n\": [2]}]}").contains("best-of-n presets only"))
        XCTAssertTrue(error("{\"configurations\": [{\"name\": \"b\", \"preset\": \"bon-small.json\", \"n\": [2], \"budgets\": [9]}]}").contains("not both"))
        XCTAssertTrue(error("{\"configurations\": [{\"name\": \"b\", \"preset\": \"bon-small.json\", \"selections\": [\"best\"]}]}").contains("unknown selection 'best'"))
        XCTAssertTrue(error("{\"configurations\": [{\"name\": \"b\", \"preset\": \"bon-small.json\", \"budgets\": [0]}]}").contains("positive integers"))
        XCTAssertTrue(error("{\"configurations\": [{\"name\": \"g\", \"preset\": \"greedy-small.json\"}, {\"name\": \"g\", \"preset\": \"greedy-small.json\"}]}").contains("share a name"))
        XCTAssertTrue(error("{\"configurations\": [{\"name\": \"m\", \"preset\": {\"strategy\": \"mcts\", \"mcts\": {\"children\": 0}}}]}").contains("mcts.children"))
    }

    func testShippedSweepSpecsLoad() throws {
        let folder = Self.repoRoot + "/Configs/sweeps"
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }
        XCTAssertTrue(names.contains("small.json"))
        XCTAssertTrue(names.contains("paper.json"))
        for name in names {
            let spec = try SweepSpec.load(path: folder + "/" + name)
            let strategies = Set(spec.configurations.map(\.preset.strategy))
            XCTAssertTrue(strategies.isSuperset(of: [.greedy, .bestOfN, .mcts]), name)
        }
        let small = try SweepSpec.load(path: folder + "/small.json")
        let rules = Set(small.configurations.compactMap(\.selections).flatMap { $0 })
        XCTAssertEqual(rules, Set(BestOfNSelection.allCases), "sweep-small compares every Best-of-N rule")
    }
}
