import Foundation
import XCTest
import Sprig

/// One finished run of the `sprig` executable.
struct CLIRun {
    var status: Int32
    /// True when a signal ended the process (a trap or abort): always a test failure.
    var signaled: Bool
    var stdout: String
    var stderr: String
    var seconds: Double

    /// stderr without the progress line's carriage-return redraws, trimmed.
    var errorLines: [String] {
        stderr.split(whereSeparator: { $0 == "\n" || $0 == "\r" })
            .map { $0.replacingOccurrences(of: "\u{1B}[K", with: "").trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }
}

/// Finds and runs the `sprig` product built beside the test bundle (`.build/<config>/`).
enum SprigCLI {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func binary() throws -> URL {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["SPRIG_BINARY"], fm.isExecutableFile(atPath: env) {
            return URL(fileURLWithPath: env)
        }
        // `swift test` builds every product; the xctest bundle sits next to `sprig`.
        var folders: [URL] = [Bundle.main.bundleURL, Bundle(for: CLIHarnessTests.self).bundleURL.deletingLastPathComponent()]
        if let exe = Bundle.main.executableURL { folders.append(exe.deletingLastPathComponent()) }
        for config in ["debug", "release"] { folders.append(packageRoot.appendingPathComponent(".build/\(config)")) }
        for folder in folders {
            let candidate = folder.appendingPathComponent("sprig")
            if fm.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw XCTSkip("sprig executable not found next to the test bundle; run `swift build --product sprig` or set SPRIG_BINARY")
    }

    /// Starts `sprig args`; stdout and stderr go to files (no pipe can fill up and stall it).
    static func start(_ args: [String], environment: [String: String] = [:]) throws -> (Process, URL, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sprig-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let out = dir.appendingPathComponent("stdout"), err = dir.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = try binary()
        process.arguments = args
        process.currentDirectoryURL = dir
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, out, err)
    }

    /// Waits for `process` (killing it after `timeout` seconds) and collects its output.
    static func finish(_ process: Process, _ out: URL, _ err: URL, started: Date, timeout: Double) -> CLIRun {
        let deadline = started.addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            XCTFail("sprig \(process.arguments ?? []) ran past \(timeout) s and was killed")
        }
        process.waitUntilExit()
        let seconds = Date().timeIntervalSince(started)
        let stdout = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        let stderr = String(decoding: (try? Data(contentsOf: err)) ?? Data(), as: UTF8.self)
        try? FileManager.default.removeItem(at: out.deletingLastPathComponent())
        return CLIRun(status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
                      stdout: stdout, stderr: stderr, seconds: seconds)
    }

    static func run(_ args: [String], timeout: Double = 300) throws -> CLIRun {
        let started = Date()
        let (p, out, err) = try start(args)
        return finish(p, out, err, started: started, timeout: timeout)
    }
}

extension XCTestCase {
    /// The run failed cleanly: no signal, a non-zero status, and exactly one stderr line
    /// `error: ...` containing `mention` (case-insensitive).
    func assertCleanFailure(_ args: [String], mentions mention: String, file: StaticString = #filePath,
                            line: UInt = #line) throws {
        let r = try SprigCLI.run(args)
        XCTAssertFalse(r.signaled, "sprig \(args) died from a signal (status \(r.status)): \(r.stderr)", file: file, line: line)
        XCTAssertNotEqual(r.status, 0, "sprig \(args) succeeded; stdout: \(r.stdout.prefix(300))", file: file, line: line)
        let lines = r.errorLines
        XCTAssertEqual(lines.count, 1, "sprig \(args): want one stderr line, got \(lines)", file: file, line: line)
        let first = lines.first ?? ""
        XCTAssertTrue(first.hasPrefix("error: "), "sprig \(args): stderr \(first)", file: file, line: line)
        XCTAssertTrue(first.lowercased().contains(mention.lowercased()),
                      "sprig \(args): '\(first)' does not mention '\(mention)'", file: file, line: line)
    }
}

final class CLIHarnessTests: XCTestCase {
    func testHelpExitsZeroOnStdout() throws {
        let r = try SprigCLI.run(["--help"])
        XCTAssertEqual(r.status, 0)
        XCTAssertFalse(r.signaled)
        XCTAssertTrue(r.stdout.contains("search"), r.stdout)
        let sub = try SprigCLI.run(["search", "--help"])
        XCTAssertEqual(sub.status, 0)
        XCTAssertTrue(sub.stdout.contains("--kv-memory"), sub.stdout)
    }

    func testUnknownSubcommandAndOptionAreOneLineUsageErrors() throws {
        try assertCleanFailure(["frobnicate"], mentions: "frobnicate")
        try assertCleanFailure(["search", "--question", "q", "--no-such-flag"], mentions: "no-such-flag")
        try assertCleanFailure(["search"], mentions: "--question")
        let r = try SprigCLI.run(["search", "--question", "q", "--budget", "abc"])
        XCTAssertEqual(r.status, 64, "usage errors exit with EX_USAGE")
    }

    func testTinyTokenizerRoundTrips() throws {
        let dir = try TestModels.tinyWithTokenizer()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try SprigCLI.run(["tokenize", "--model", dir.path, "--text", "a b\n", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), #"{"ids":[97,32,98,10]}"#)
    }

    /// A text file is tokenized as its text, a leading byte-order mark included (as --text).
    func testTextFileKeepsALeadingByteOrderMark() throws {
        let dir = try TestModels.tinyWithTokenizer()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("bom.txt")
        try Data([0xEF, 0xBB, 0xBF, 0x68, 0x69]).write(to: file)
        let fromFile = try SprigCLI.run(["tokenize", "--model", dir.path, "--text-file", file.path, "--json"])
        let fromText = try SprigCLI.run(["tokenize", "--model", dir.path, "--text", "\u{FEFF}hi", "--json"])
        XCTAssertEqual(fromFile.status, 0, fromFile.stderr)
        XCTAssertEqual(fromFile.stdout, fromText.stdout)
        let ids = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(fromFile.stdout.utf8)) as? [String: [Int]])["ids"]
        XCTAssertEqual(ids?.suffix(2), [0x68, 0x69])
        XCTAssertGreaterThan(ids?.count ?? 0, 2, "the mark's bytes are tokens too")
    }

    /// `sprig bench --json` prints the keys other tools read, and every fraction is taken
    /// against the run's final roofline (the best bandwidth and FLOP/s seen in the run):
    /// roofline_fraction = roofline_step_s / step_s, with roofline_step_s from the printed
    /// bandwidth and FLOP/s.
    func testBenchJSONFractionsAgainstTheRunsRoofline() throws {
        let r = try SprigCLI.run(["bench", "--model", TestModels.tinyFixture.path, "--sequences", "1,4", "--steps", "4",
                                  "--prompt", "8", "--json"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        let d = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let dram = try XCTUnwrap(d["bandwidth_gbs"] as? Double), gflops = try XCTUnwrap(d["gflops"] as? Double)
        // The weights' bound is the faster of DRAM and a buffer their size (this tiny f32
        // model fits the caches, and the fractions used to pass 1); f32 activations: the FLOP
        // peak is sgemm's, whatever the int8 peak.
        let workingSet = try XCTUnwrap(d["working_set_bandwidth_gbs"] as? Double)
        XCTAssertGreaterThan(workingSet, 0)
        XCTAssertNotNil(d["int8_gops"] as? Double)
        XCTAssertEqual(d["activations"] as? String, "f32")
        let bandwidth = max(dram, workingSet)
        let bytes = try XCTUnwrap(d["weight_bytes"] as? Double), params = try XCTUnwrap(d["parameters"] as? Double)
        XCTAssertNotNil(d["prefill_tokens_per_s"] as? Double)
        XCTAssertEqual(d["kv"] as? String, "f32", "an f32 checkpoint keeps an f32 cache")
        let prefetch = try XCTUnwrap(d["weight_prefetch"] as? String)
        XCTAssertNotNil(prefetch.wholeMatch(of: /[0-9]+(l2)?,[0-9]+(l2)?,[0-9]+/), prefetch)
        let decode = try XCTUnwrap(d["decode"] as? [[String: Any]])
        XCTAssertEqual(decode.compactMap { $0["sequences"] as? Int }, [1, 4])
        for f in decode {
            let n = try XCTUnwrap(f["sequences"] as? Double), step = try XCTUnwrap(f["step_s"] as? Double)
            let bound = max(bytes / (bandwidth * 1e9), 2 * params * n / (gflops * 1e9))
            XCTAssertEqual(try XCTUnwrap(f["roofline_step_s"] as? Double), bound, accuracy: bound * 1e-9)
            XCTAssertEqual(try XCTUnwrap(f["roofline_fraction"] as? Double), bound / step, accuracy: 1e-9 * bound / step)
            XCTAssertEqual(try XCTUnwrap(f["tokens_per_s"] as? Double), n / step, accuracy: 1e-6 * n / step)
            XCTAssertLessThan(bound / step, 1.2, "a step faster than the machine's bound")
        }
    }

    /// `sprig bench search --json` on the embedded model: one figure per strategy in the order
    /// given, the outside share split exactly into sampling and tree, every search's tokens
    /// within its budget, and an answer per search.
    func testBenchSearchReportsWhereTheWallTimeWent() throws {
        guard DefaultModel.locate() != nil else { throw XCTSkip("Models/sprig-mult-band not found") }
        let r = try SprigCLI.run(["bench", "search", "--strategies", "best-of-n,mcts", "--searches", "2", "--budget", "1500",
                                  "--json"], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        let d = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(d["question"] as? String, "What is 4821 * 37?")
        let figures = try XCTUnwrap(d["search"] as? [[String: Any]])
        XCTAssertEqual(figures.compactMap { $0["strategy"] as? String }, ["best-of-n", "mcts"])
        for f in figures {
            let what = f["strategy"] as? String ?? "?"
            XCTAssertEqual(f["searches"] as? Int, 2, what)
            let tokens = try XCTUnwrap(f["tokens"] as? Int)
            XCTAssertTrue((1...3000).contains(tokens), "\(what): \(tokens) tokens for two searches of 1500")
            let outside = try XCTUnwrap(f["outside_model_share"] as? Double)
            let sampling = try XCTUnwrap(f["sampling_share"] as? Double), tree = try XCTUnwrap(f["tree_share"] as? Double)
            XCTAssertTrue(outside > 0 && outside < 1, "\(what): \(outside)")
            XCTAssertEqual(outside, sampling + tree, accuracy: 1e-9, "\(what): outside = sampling + tree")
            let scoring = try XCTUnwrap(f["sprm_share"] as? Double)
            XCTAssertTrue(scoring > 0 && scoring < sampling, "\(what): the SPRM head scores steps, a part of sampling: \(scoring)")
            for key in ["warm_outside_model_share", "first_outside_model_share"] {
                let v = try XCTUnwrap(f[key] as? Double, key)
                XCTAssertTrue(v > 0 && v < 1, "\(what) \(key): \(v)")
            }
            XCTAssertGreaterThan(try XCTUnwrap(f["forward_us_per_token"] as? Double), 0)
            XCTAssertGreaterThan(try XCTUnwrap(f["outside_us_per_token"] as? Double), 0)
            let kv = try XCTUnwrap(f["kv_overhead"] as? Double)
            XCTAssertTrue(kv >= 1 && kv < 1.5, "\(what): KV overhead \(kv)")
            let answers = try XCTUnwrap(f["answers"] as? [String: Int])
            XCTAssertEqual(answers.values.reduce(0, +), 2, what)
        }
    }

    /// With no --model, `generate`, `tokenize` and `logits` use the embedded default; its
    /// `--chat` prompt is the task's own (sprig.json), so greedy decoding answers, and the
    /// task's reading of the reversed digits is shown.
    func testDefaultModelWithoutModelFlag() throws {
        guard DefaultModel.locate() != nil else { throw XCTSkip("Models/sprig-mult-band not found") }
        // No --max-tokens: a task model runs to its answer (128 tokens stopped mid-working).
        let g = try SprigCLI.run(["generate", "--prompt", "What is 4821 * 37?", "--chat"], timeout: 120)
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertTrue(g.stdout.contains("</think>"), g.stdout)
        XCTAssertTrue(g.stderr.contains("answer: 178377"), g.stderr)
        let bad = try SprigCLI.run(["generate", "--prompt", "What is 2+2?", "--chat"], timeout: 120)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("multiplication"), bad.stderr)
        let t = try SprigCLI.run(["tokenize", "--text", "12 * 34", "--json"], timeout: 60)
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertTrue(t.stdout.contains("\"ids\""), t.stdout)
        let l = try SprigCLI.run(["logits", "--tokens", "1,2,3", "--json"], timeout: 60)
        XCTAssertEqual(l.status, 0, l.stderr)
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(l.stdout.utf8)) as? [String: [[Double]]])["logits"]
        XCTAssertEqual(rows?.count, 3)
        XCTAssertEqual(rows?.first?.count, 263, "the default model's vocabulary")
    }

    /// `sprig sweep` on the embedded model needs no --data, and finds a relative --config (the
    /// default `Configs/sweeps/small.json` too) from any folder: the repository's hard split
    /// and specs next to the model. It writes its rows and summary; with another model --data
    /// stays required.
    func testSweepDefaultsToTheEmbeddedModelsSplit() throws {
        guard DefaultModel.locate() != nil else { throw XCTSkip("Models/sprig-mult-band not found") }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("sprig-sweep-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        // A relative spec path, run from a temporary folder: found in the model's repository.
        let r = try SprigCLI.run(["sweep", "--out", out.path, "--limit", "2", "--config", "Configs/sweeps/tiny.json", "--quiet"],
                                 timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("mult-eval-hard.jsonl"), r.stderr)
        let rows = try String(contentsOf: out.appendingPathComponent("rows.jsonl"), encoding: .utf8)
        XCTAssertGreaterThan(rows.split(separator: "\n").count, 2)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("summary.md").path))
        let other = try SprigCLI.run(["sweep", "--model", TestModels.tinyFixture.path, "--out", out.path], timeout: 60)
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.stderr.contains("--data"), other.stderr)
    }
}
