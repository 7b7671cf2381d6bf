import XCTest
@testable import StepSearch

final class ConfigTests: XCTestCase {
    static let configsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Configs")

    func testEveryPresetLoadsAndValidates() throws {
        let files = try FileManager.default.contentsOfDirectory(at: Self.configsDir, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
        XCTAssertGreaterThanOrEqual(files.count, 7)
        for f in files {
            let c = try SearchConfig.load(contentsOf: f)
            XCTAssertEqual(c.makeStrategy().name, c.strategy.rawValue, f.lastPathComponent)
        }
    }

    func testPaperPresets() throws {
        let mcts = try SearchConfig.load(contentsOf: Self.configsDir.appendingPathComponent("mcts-paper.json"))
        XCTAssertEqual(mcts.strategy, .mcts)
        XCTAssertEqual(mcts.budget, 160_000)
        XCTAssertEqual(mcts.mcts.children, 4)
        XCTAssertEqual(mcts.mcts.childTokens, 1024)
        XCTAssertNil(mcts.mcts.stopAfterSteps)
        XCTAssertEqual(mcts.aggregation, .geometricMean)
        for (name, n) in [("bon-low", 2), ("bon-medium", 8), ("bon-high", 32)] {
            let c = try SearchConfig.load(contentsOf: Self.configsDir.appendingPathComponent("\(name).json"))
            XCTAssertEqual(c.strategy, .bestOfN)
            XCTAssertEqual(c.bestOfN.n, n)
            XCTAssertEqual(c.bestOfN.selection, .sprm)
        }
        let small = try SearchConfig.load(contentsOf: Self.configsDir.appendingPathComponent("mcts-small.json"))
        XCTAssertEqual(small.mcts.stopAfterSteps, 2)
        XCTAssertEqual(small.mcts.childTokens, 80)
        XCTAssertEqual(small.budget, 4096)
        let greedy = try SearchConfig.load(contentsOf: Self.configsDir.appendingPathComponent("greedy.json"))
        XCTAssertEqual(greedy.makeContext().sampling.temperature, 0)
    }

    func testDefaultsFillMissingFields() throws {
        let c = try SearchConfig.decode(Data(#"{"strategy":"mcts","budget":100}"#.utf8))
        XCTAssertEqual(c.mcts, MCTSConfig())
        XCTAssertEqual(c.sampling, SamplingSettings())
        XCTAssertEqual(c.completionTokens, 8192)
        let bon = try SearchConfig.decode(Data(#"{"strategy":"best-of-n","budget":100,"best_of_n":{"n":null,"parallel":3}}"#.utf8))
        XCTAssertNil(bon.bestOfN.n, "explicit null = as many as the budget allows")
        XCTAssertEqual(bon.bestOfN.parallel, 3)
    }

    func testRoundTrip() throws {
        var c = SearchConfig(strategy: .beam, budget: 777)
        c.beam = BeamConfig(width: 3, expansions: 2, stepTokens: 50, maxDepth: 9)
        c.aggregation = .minimum
        let data = try JSONEncoder().encode(c)
        XCTAssertEqual(try SearchConfig.decode(data), c)
    }

    private func assertInvalid(_ json: String, contains needle: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SearchConfig.decode(Data(json.utf8), file: "x.json"), file: file, line: line) { error in
            guard let e = error as? StepSearchError else { return XCTFail("untyped \(error)", file: file, line: line) }
            let text = e.description
            XCTAssertTrue(text.contains(needle), "\(text)", file: file, line: line)
            XCTAssertTrue(text.hasPrefix("x.json: "), "\(text)", file: file, line: line)
            XCTAssertFalse(text.contains("\n"), file: file, line: line)
        }
    }

    func testTypedErrors() {
        assertInvalid(#"{"strategy":"mcts","budget":0}"#, contains: "budget must be > 0")
        assertInvalid(#"{"strategy":"mcts","budget":-5}"#, contains: "budget must be > 0")
        assertInvalid(#"{"strategy":"mcts","budget":9,"mcts":{"children":0}}"#, contains: "mcts.children")
        assertInvalid(#"{"strategy":"mcts","budget":9,"mcts":{"child_tokens":0}}"#, contains: "mcts.child_tokens")
        assertInvalid(#"{"strategy":"mcts","budget":9,"mcts":{"child_tokens":-1}}"#, contains: "mcts.child_tokens")
        assertInvalid(#"{"strategy":"bfs","budget":9}"#, contains: "unknown strategy 'bfs'")
        assertInvalid(#"{"strategy":"best-of-n","budget":9,"best_of_n":{"n":0}}"#, contains: "best_of_n.n")
        assertInvalid(#"{"strategy":"beam","budget":9,"beam":{"width":0}}"#, contains: "beam.width")
        assertInvalid(#"{"strategy":"sample","budget":9,"sampling":{"top_p":0}}"#, contains: "top_p")
        assertInvalid(#"{"strategy":"mcts","budget":9,"aggregation":"median"}"#, contains: "aggregation")
        assertInvalid(#"{"budget":9}"#, contains: "missing field 'strategy'")
        assertInvalid("not json", contains: "cannot read")
        // A key no field reads is a typo, at any level, not a silent default.
        assertInvalid(#"{"strategy":"mcts","budget":9,"bugdet":4}"#, contains: "field 'bugdet': unknown field")
        assertInvalid(#"{"strategy":"mcts","budget":9,"mcts":{"childs":4}}"#, contains: "field 'mcts.childs': unknown field")
        assertInvalid(#"{"strategy":"sample","budget":9,"sampling":{"temp":0.7}}"#, contains: "field 'sampling.temp'")
        assertInvalid(#"{"strategy":"beam","budget":9,"beam":{"width":2,"depth":3}}"#, contains: "field 'beam.depth'")
        assertInvalid(#"{"strategy":"best-of-n","budget":9,"best_of_n":{"m":3}}"#, contains: "field 'best_of_n.m'")
        assertInvalid(#"{"strategy":"greedy","budget":9,"single":{"tokens":3}}"#, contains: "field 'single.tokens'")
        // Sizes whose products overflow (a trap in MCTS) or whose bookkeeping never ends (a
        // Best-of-N of 2^40 hung with a budget of 100), for library callers as for files.
        assertInvalid(#"{"strategy":"mcts","budget":9,"mcts":{"child_tokens":4611686018427387903}}"#, contains: "mcts.child_tokens")
        assertInvalid(#"{"strategy":"best-of-n","budget":9,"best_of_n":{"n":1099511627776}}"#, contains: "best_of_n.n")
        assertInvalid(#"{"strategy":"beam","budget":9,"beam":{"width":64,"expansions":128}}"#, contains: "beam.width × beam.expansions")
    }

    func testLibraryCallersGetTheSameLimits() {
        var c = SearchConfig(strategy: .mcts, budget: 100)
        c.mcts = MCTSConfig(children: 4, childTokens: Int.max / 2)
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("mcts.child_tokens"), "\($0)") }
        c = SearchConfig(strategy: .mcts, budget: 100)
        c.sampling.repetitionPenalty = .infinity
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("repetition_penalty"), "\($0)") }
    }

    func testMissingFile() {
        XCTAssertThrowsError(try SearchConfig.load(contentsOf: URL(fileURLWithPath: "/nonexistent/p.json"))) {
            XCTAssertTrue(($0 as? StepSearchError)?.description.contains("/nonexistent/p.json") == true)
        }
    }
}
