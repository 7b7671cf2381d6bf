import XCTest
import StepSearch
@testable import Sprig

/// Resume, interruption, torn lines, shards and merge with a model-free executor.
final class SweepResumeTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "sweep-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    static func spec() throws -> SweepSpec {
        let json = """
        {"seeds": [0, 3],
         "configurations": [
           {"name": "greedy", "preset": {"strategy": "greedy", "single": {"trajectory_tokens": 64}}, "budgets": [64]},
           {"name": "bon", "preset": {"strategy": "best-of-n", "best_of_n": {"trajectory_tokens": 32}},
            "n": [2, 4], "selections": ["sprm", "majority", "random"]},
           {"name": "mcts", "preset": {"strategy": "mcts", "mcts": {"children": 2, "child_tokens": 16}}, "budgets": [100, 200]}]}
        """
        return try SweepSpec.parse(Data(json.utf8), file: "spec.json", folder: "/nonexistent")
    }

    static let problems = (0..<5).map { Problem(id: "p\($0)", level: $0 % 2 == 0 ? "easy" : "hard",
                                                      question: "What is \($0) * 3?", answer: String($0 * 3)) }

    /// A deterministic fake result per row key: the values depend only on the key.
    static func fakeRows(_ task: SweepTask) -> [SweepRow] {
        task.rowKeys.map { k in
            let h = abs(k.description.hashValue % 1000)   // stable within one process
            return SweepRow(problem: k.problem, level: task.problem.level, configuration: k.configuration,
                            strategy: task.configuration.preset.strategy.rawValue, selection: k.selection,
                            budget: k.budget, n: task.point.n, seed: k.seed, tokensUsed: k.budget / 2 + h % 7,
                            answerTokens: h % 3, answer: String(h), expected: task.problem.answer,
                            correct: h % 2 == 0, score: Double(h) / 1000, nodes: 1 + h % 5, seconds: 0.01,
                            oracleCorrect: h % 3 != 0)
        }
    }

    func reference() throws -> [SweepRowKey: SweepRow] {
        let runner = try SweepRunner(spec: Self.spec(), problems: Self.problems, rowsPath: folder + "/ref.jsonl")
        let report = try runner.run(execute: { Self.fakeRows($0) })
        XCTAssertFalse(report.interrupted)
        XCTAssertEqual(report.total, 5 * 2 * (1 + 2 + 2))
        XCTAssertEqual(report.rowsWritten, 5 * 2 * (1 + 2 * 3 + 2))
        return Dictionary(uniqueKeysWithValues: runner.rows.rows.map { ($0.key, $0) })
    }

    func assertComplete(_ path: String, equals ref: [SweepRowKey: SweepRow], file: StaticString = #filePath, line: UInt = #line) throws {
        let rows = try SweepRowFile.readOnly(path: path)
        XCTAssertEqual(rows.count, ref.count, "row count", file: file, line: line)
        XCTAssertEqual(Set(rows.map(\.key)).count, rows.count, "duplicate keys", file: file, line: line)
        for r in rows { XCTAssertEqual(r, ref[r.key], file: file, line: line) }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.hasSuffix("\n"), file: file, line: line)
    }

    func testInterruptAfterEveryTaskThenResume() throws {
        let ref = try reference()
        let total = 5 * 2 * 5
        for k in stride(from: 0, through: total, by: 7) {
            let path = folder + "/rows-\(k).jsonl"
            var ran = 0
            let first = try SweepRunner(spec: Self.spec(), problems: Self.problems, rowsPath: path)
            let r1 = try first.run(execute: { ran += 1; return Self.fakeRows($0) }, isCancelled: { ran >= k })
            XCTAssertEqual(r1.ran, min(k, total))
            XCTAssertEqual(r1.interrupted, k < total)
            var reran: [SweepRowKey] = []
            let second = try SweepRunner(spec: Self.spec(), problems: Self.problems, rowsPath: path)
            XCTAssertEqual(second.pending.count, total - min(k, total))
            let r2 = try second.run(execute: { reran += $0.rowKeys; return Self.fakeRows($0) })
            XCTAssertEqual(r2.skipped, min(k, total))
            XCTAssertEqual(Set(reran).intersection(Set(first.rows.keys)), [], "a finished task ran twice")
            try assertComplete(path, equals: ref)
        }
    }

    func testExecutorReportingInterruptionWritesNothingForThatTask() throws {
        let ref = try reference()
        let path = folder + "/rows.jsonl"
        var calls = 0
        let first = try SweepRunner(spec: Self.spec(), problems: Self.problems, rowsPath: path)
        let r1 = try first.run(execute: { calls += 1; return calls == 4 ? nil : Self.fakeRows($0) })
        XCTAssertTrue(r1.interrupted)
        XCTAssertEqual(r1.ran, 3)
        let second = try SweepRunner(spec: Self.spec(), problems: Self.problems, rowsPath: path)
        _ = try second.run(execute: { Self.fakeRows($0) })
        try assertComplete(path, equals: ref)
    }

    func testTornLastLineIsDroppedAndRewritten() throws {
        let ref = try reference()
        let path = folder + "/rows.jsonl"
        var ran = 0
        let first = try SweepRunner(spec: Self.spec(), problems: Self.problems, rowsPath: path)
        _ = try first.run(execute: { ran += 1; return Self.fakeRows($0) }, isCancelled: { ran >= 6 })
        // A crash in the middle of a multi-row write: cut the file inside its last line.
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        let whole = data.count
        data.removeLast(25)
        try data.write(to: URL(fileURLWithPath: path))
        let second = try SweepRunner(spec: Self.spec(), problems: Self.problems, rowsPath: path)
        XCTAssertGreaterThan(second.rows.droppedTornBytes, 0)
        XCTAssertEqual(second.rows.rows.count, first.rows.rows.count - 1)
        XCTAssertLessThan(try Data(contentsOf: URL(fileURLWithPath: path)).count, whole)
        var written: [SweepRowKey] = []
        let r2 = try second.run(execute: { task in
            let rows = Self.fakeRows(task)
            written += rows.map(\.key).filter { !second.rows.keys.contains($0) }
            return rows
        })
        XCTAssertEqual(r2.rowsWritten, ref.count - first.rows.rows.count + 1)
        XCTAssertEqual(written.count, r2.rowsWritten)
        try assertComplete(path, equals: ref)
    }

    func testCorruptMiddleLineIsAnError() throws {
        let path = folder + "/rows.jsonl"
        try Data("{\"nope\": 1}\n".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SweepRowFile(path: path)) { error in
            XCTAssertTrue("\(error)".contains("line 1 is not a sweep row"))
        }
    }

    func testNoResumeStartsOverAndKeepsTheOldFile() throws {
        let path = folder + "/rows.jsonl"
        _ = try SweepRunner(spec: Self.spec(), problems: Self.problems, rowsPath: path).run(execute: { Self.fakeRows($0) })
        let fresh = try SweepRunner(spec: Self.spec(), problems: Self.problems, rowsPath: path, resume: false)
        XCTAssertEqual(fresh.pending.count, fresh.tasks.count)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path + ".old"))
    }

    func testAppendNeverDuplicatesAKey() throws {
        let file = try SweepRowFile(path: folder + "/rows.jsonl")
        let task = SweepTask.all(spec: try Self.spec(), problems: Self.problems)[1]
        XCTAssertEqual(try file.append(Self.fakeRows(task)), 3)
        XCTAssertEqual(try file.append(Self.fakeRows(task)), 0)
        XCTAssertEqual(try SweepRowFile(path: folder + "/rows.jsonl").rows.count, 3)
    }

    func testExecutorRowForAnotherKeyIsRejected() throws {
        let runner = try SweepRunner(spec: Self.spec(), problems: Self.problems, rowsPath: folder + "/rows.jsonl")
        XCTAssertThrowsError(try runner.run(execute: { task in
            Self.fakeRows(task).map { var r = $0; r.seed = 99; return r }
        }))
    }

    func testShardsMergeToTheFullSweep() throws {
        let ref = try reference()
        var dirs: [String] = []
        for i in 0..<3 {
            let path = folder + "/shard\(i).jsonl"
            let runner = try SweepRunner(spec: Self.spec(), problems: Self.problems, shard: SweepShard(index: i, count: 3),
                                         rowsPath: path)
            XCTAssertEqual(Set(runner.tasks.map(\.problem.id)), Set(Self.problems.enumerated().filter { $0.offset % 3 == i }.map(\.element.id)))
            _ = try runner.run(execute: { Self.fakeRows($0) })
            dirs.append(path)
        }
        let merged = try SweepRowFile.merge(paths: dirs + [dirs[0]])   // a folder given twice adds nothing
        let out = try SweepRowFile(path: folder + "/merged.jsonl")
        try out.append(merged)
        try assertComplete(folder + "/merged.jsonl", equals: ref)
    }

    func testRowLineHasEveryKeyAndRoundTrips() throws {
        let row = SweepRow(problem: "easy-000", level: nil, configuration: "mcts", strategy: "mcts", selection: nil,
                           budget: 4096, n: nil, seed: 2, tokensUsed: 4000, answerTokens: 12, answer: nil, expected: "25416",
                           correct: false, score: .nan, nodes: 9, seconds: 1.5, oracleCorrect: true)
        let line = try row.jsonLine()
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: line) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["problem", "level", "configuration", "strategy", "selection", "budget", "n", "seed",
                                          "tokens_used", "answer_tokens", "answer", "expected", "correct", "score", "nodes",
                                          "seconds", "oracle_correct"])
        XCTAssertTrue(object["selection"] is NSNull)
        XCTAssertEqual(object["score"] as? Double, 0)   // a non-finite score is stored as 0
        XCTAssertFalse(line.contains(UInt8(ascii: "\n")))
        var back = try JSONDecoder().decode(SweepRow.self, from: line)
        XCTAssertEqual(back, row)
        back.selection = "sprm"
        XCTAssertNotEqual(back.key, row.key)
    }

    func testProgressLine() {
        let p = SweepProgress(done: 12, total: 40, ranNow: 6, elapsed: 30)
        XCTAssertEqual(p.rate, 0.2, accuracy: 1e-12)
        XCTAssertEqual(p.eta ?? -1, 140, accuracy: 1e-9)
        XCTAssertEqual(p.line, "[#######.................] 12/40 tasks  0.20/s  ETA 2m20s")
        XCTAssertNil(SweepProgress(done: 3, total: 40, ranNow: 0, elapsed: 0).eta)
        XCTAssertEqual(SweepProgress.duration(3725), "1h02m")
    }
}
