import Foundation
import XCTest

/// SIGINT / SIGTERM during `sprig search`: the best answer so far is printed, the trace is
/// written, and the process exits 0 within seconds.
final class ReliabilityInterruptTests: XCTestCase {
    struct Interrupted {
        var run: CLIRun
        /// Seconds from the signal to the exit.
        var afterSignal: Double
        var trace: [String: Any]?
    }

    /// Starts a search that would run for hours, waits until it is decoding (its progress
    /// line) and at least `delay` seconds have passed, sends `signal`, and waits for the exit.
    /// `burst`: signals sent 20 ms apart (`timeout` signals the child and then its process
    /// group, so a child sees two in quick succession; 20 ms makes sure the first was handled).
    func interrupt(model: String, signal sig: Int32, delay: Double, extra: [String], burst: Int = 1) throws -> Interrupted {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sprig-int-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let trace = dir.appendingPathComponent("trace.json")
        // An open question and short children: the tree keeps growing (no early end by EOS everywhere).
        let args = ["search", "--model", model, "--question", "Write a long story about a dragon, one paragraph per step.",
                    "--budget", "100000000", "--trace", trace.path] + extra
        let started = Date()
        let (process, out, err) = try SprigCLI.start(args)
        // Decoding has begun once the progress line reports tokens.
        let deadline = started.addingTimeInterval(240)
        while process.isRunning && Date() < deadline {
            let stderr = String(decoding: (try? Data(contentsOf: err)) ?? Data(), as: UTF8.self)
            if stderr.contains("tokens "), Date().timeIntervalSince(started) >= delay { break }
            usleep(50_000)
        }
        XCTAssertTrue(process.isRunning, "sprig ended before it was interrupted")
        let signalled = Date()
        for k in 0..<burst {
            if k > 0 { usleep(20_000) }
            kill(process.processIdentifier, sig)
        }
        let run = SprigCLI.finish(process, out, err, started: started, timeout: 300)
        let afterSignal = Date().timeIntervalSince(signalled)
        let traceJSON = (try? Data(contentsOf: trace)).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
        return Interrupted(run: run, afterSignal: afterSignal, trace: traceJSON)
    }

    func testSIGINTOnSmolLM2PrintsTheBestSoFarAsJSON() throws {
        let model = try TestModels.smolLM2()
        let r = try interrupt(model: model, signal: SIGINT, delay: 3,
                              extra: ["--json", "--children", "4", "--child-tokens", "16", "--kv-memory", "512MiB"])
        XCTAssertFalse(r.run.signaled, "killed by a signal: \(r.run.stderr)")
        XCTAssertEqual(r.run.status, 0, r.run.stderr)
        XCTAssertLessThan(r.afterSignal, 3, "took \(r.afterSignal) s to stop after SIGINT")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.run.stdout.utf8)) as? [String: Any], r.run.stdout)
        XCTAssertEqual(json["interrupted"] as? Bool, true)
        XCTAssertGreaterThan(json["tokens_used"] as? Int ?? 0, 0)
        XCTAssertNotNil(json["text"] as? String)
        XCTAssertNotNil(json.index(forKey: "answer"), "the answer key is present (null when none)")
        let trace = try XCTUnwrap(r.trace, "no trace written")
        let nodes = try XCTUnwrap(trace["nodes"] as? [[String: Any]])
        XCTAssertEqual(nodes.count, json["nodes"] as? Int)
        XCTAssertEqual(trace["tokens_used"] as? Int, json["tokens_used"] as? Int)
        print(String(format: "SmolLM2 SIGINT: stopped %.2f s after the signal, %d tokens, %d nodes",
                     r.afterSignal, json["tokens_used"] as? Int ?? 0, nodes.count))
    }

    func testSIGTERMOnTheTinyModelPrintsTheBestSoFar() throws {
        // A context far past what a few seconds can fill, so the tree never runs out of leaves.
        let dir = try TestModels.tinyWithTokenizer(maxPositions: 65536)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try interrupt(model: dir.path, signal: SIGTERM, delay: 1,
                              extra: ["--children", "4", "--child-tokens", "32", "--kv-memory", "64MiB"])
        XCTAssertFalse(r.run.signaled, "killed by a signal: \(r.run.stderr)")
        XCTAssertEqual(r.run.status, 0, r.run.stderr)
        XCTAssertLessThan(r.afterSignal, 3, "took \(r.afterSignal) s to stop after SIGTERM")
        XCTAssertTrue(r.run.stdout.contains("answer: "), r.run.stdout)
        XCTAssertTrue(r.run.stdout.contains(", interrupted"), r.run.stdout)
        XCTAssertNotNil(r.trace, "no trace written")
        print(String(format: "tiny SIGTERM: stopped %.2f s after the signal", r.afterSignal))
    }

    func testABurstOfTwoSignalsIsOneRequest() throws {
        let dir = try TestModels.tinyWithTokenizer(maxPositions: 65536)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try interrupt(model: dir.path, signal: SIGINT, delay: 1,
                              extra: ["--json", "--children", "4", "--child-tokens", "32", "--kv-memory", "64MiB"], burst: 2)
        XCTAssertFalse(r.run.signaled, "killed by a signal: \(r.run.stderr)")
        XCTAssertEqual(r.run.status, 0, "a burst of two signals forced the exit: \(r.run.stderr)")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.run.stdout.utf8)) as? [String: Any], r.run.stdout)
        XCTAssertEqual(json["interrupted"] as? Bool, true)
        XCTAssertNotNil(r.trace, "no trace written")
    }
}
