import Foundation
import XCTest

/// `sprig search --json` on the tiny fixture: the result keys other tools read, a "timing"
/// object whose times and shares agree with each other, and the "kv" accounting.
final class SearchJSONTests: XCTestCase {
    func testSearchJSONCarriesTiming() throws {
        let tiny = try TestModels.tinyWithTokenizer()
        defer { try? FileManager.default.removeItem(at: tiny) }
        let r = try SprigCLI.run(["search", "--model", tiny.path, "--question", "What is 2+3?", "--budget", "300",
                                  "--child-tokens", "40", "--seed", "3", "--json", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        for key in ["answer", "budget", "nodes", "score", "strategy", "text", "tokens_used"] {
            XCTAssertNotNil(object[key], "missing \(key)")
        }
        let used = try XCTUnwrap(object["tokens_used"] as? Int)
        XCTAssertGreaterThan(used, 0)
        XCTAssertLessThanOrEqual(used, 300)
        let t = try XCTUnwrap(object["timing"] as? [String: Double], "timing: \(object["timing"] ?? "absent")")
        let wall = try XCTUnwrap(t["wall_s"]), prefill = try XCTUnwrap(t["prefill_s"])
        let extend = try XCTUnwrap(t["extend_s"]), forward = try XCTUnwrap(t["forward_s"])
        XCTAssertGreaterThan(forward, 0)
        XCTAssertLessThanOrEqual(forward, extend)
        XCTAssertLessThanOrEqual(extend + prefill, wall)
        let model = try XCTUnwrap(t["model_share"]), outside = try XCTUnwrap(t["outside_model_share"])
        let sampling = try XCTUnwrap(t["sampling_share"]), tree = try XCTUnwrap(t["tree_share"])
        XCTAssertEqual(model, (forward + prefill) / wall, accuracy: 1e-12)
        XCTAssertEqual(model + outside, 1, accuracy: 1e-12)
        XCTAssertEqual(sampling + tree, outside, accuracy: 1e-12)
        XCTAssertEqual(sampling, (extend - forward) / wall, accuracy: 1e-12)
        let scoring = try XCTUnwrap(t["sprm_s"]), scoringShare = try XCTUnwrap(t["sprm_share"])
        XCTAssertEqual(scoringShare, scoring / wall, accuracy: 1e-12)
        XCTAssertTrue(scoring >= 0 && scoring <= extend - forward, "the SPRM head runs inside extends, outside forwards")

        // The cache when it was fullest: whole blocks of the layout's bytes per token, at least
        // the stored rows' bytes (less only if rows were counted twice), sharing saving bytes.
        let kv = try XCTUnwrap(object["kv"] as? [String: Double], "kv: \(object["kv"] ?? "absent")")
        let bytes = try XCTUnwrap(kv["bytes_in_use"]), stored = try XCTUnwrap(kv["tokens_stored"])
        let perToken = try XCTUnwrap(kv["bytes_per_token"]), logical = try XCTUnwrap(kv["tokens_logical"])
        let unshared = try XCTUnwrap(kv["bytes_without_sharing"]), overhead = try XCTUnwrap(kv["overhead"])
        XCTAssertGreaterThan(stored, 0)
        XCTAssertEqual(bytes.truncatingRemainder(dividingBy: perToken * 4), 0, "whole blocks of 4 tokens")
        XCTAssertEqual(overhead, bytes / (stored * perToken), accuracy: 1e-12)
        XCTAssertGreaterThanOrEqual(overhead, 1)
        XCTAssertGreaterThanOrEqual(logical, stored)
        XCTAssertGreaterThanOrEqual(unshared, bytes)
        XCTAssertGreaterThan(try XCTUnwrap(kv["shared_blocks"]), 0, "children share the prompt's blocks")
    }
}
