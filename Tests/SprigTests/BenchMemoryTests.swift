import Foundation
import XCTest

/// `sprig bench memory`: builds the tree it was asked for, or says why it cannot.
final class BenchMemoryTests: XCTestCase {
    func testTreeReachesTheRequestedTokens() throws {
        let dir = try TestModels.tinyWithTokenizer(maxPositions: 1024)
        defer { try? FileManager.default.removeItem(at: dir) }
        // 4 children of 200 tokens after a 128-token prompt: a path holds at most 4 of them,
        // so the 12,000-token tree must spread over many parents, not skip expansions.
        let r = try SprigCLI.run(["bench", "memory", "--model", dir.path, "--tree-tokens", "12000", "--children", "4",
                                  "--child-tokens", "200", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        let tokens = try XCTUnwrap(json["tree_tokens"] as? Int)
        let nodes = try XCTUnwrap(json["nodes"] as? Int)
        XCTAssertEqual(nodes, 1 + 14 * 4, "(12000 − 128) / (4 × 200) = 14 expansions")
        XCTAssertEqual(tokens, 128 + 14 * 4 * 200)
    }

    func testChildrenLongerThanTheContextAreRefused() throws {
        let dir = try TestModels.tinyWithTokenizer(maxPositions: 512)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Used to report a one-node, 128-token "tree" and exit 0.
        let r = try SprigCLI.run(["bench", "memory", "--model", dir.path, "--json"])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stderr.contains("do not fit the model's context of 512"), r.stderr)
        XCTAssertTrue(r.stdout.isEmpty, r.stdout)
    }
}
