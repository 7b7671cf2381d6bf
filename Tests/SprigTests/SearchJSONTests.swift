import Foundation
import XCTest

/// `sprig search --json` on the tiny fixture: the result keys other tools read, and a
/// "timing" object whose times and shares agree with each other.
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
    }
}
