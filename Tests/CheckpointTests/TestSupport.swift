import Foundation
import XCTest
@testable import Checkpoint

enum Fixture {
    static func path(_ name: String) throws -> String {
        guard let dir = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw XCTSkip("Fixtures folder missing from the test bundle")
        }
        return dir.appendingPathComponent(name).path
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: try path(name))))
    }

    /// reference.json, written by Experiments/checkpoint-fixtures/make_fixtures.py.
    static func reference() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: try path("reference.json")))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: try path(name)))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A fresh temporary folder, removed by the caller's `addTeardownBlock`.
    static func tempDir(_ test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}

/// Asserts `body` throws exactly `expected`.
func assertThrows<T>(_ expected: CheckpointError, file: StaticString = #filePath, line: UInt = #line,
                     _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected \(expected), got a value", file: file, line: line)
    } catch let error as CheckpointError {
        XCTAssertEqual(error, expected, file: file, line: line)
    } catch {
        XCTFail("not a CheckpointError: \(error)", file: file, line: line)
    }
}

/// Asserts `body` throws a CheckpointError matching `match` (for messages with computed detail).
func assertThrows<T>(file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T,
                     _ match: (CheckpointError) -> Bool) {
    do {
        _ = try body()
        XCTFail("expected an error, got a value", file: file, line: line)
    } catch let error as CheckpointError {
        XCTAssertTrue(match(error), "unexpected error: \(error)", file: file, line: line)
        XCTAssertFalse(error.description.contains("\n"), "messages are one line", file: file, line: line)
    } catch {
        XCTFail("not a CheckpointError: \(error)", file: file, line: line)
    }
}

func assertClose(_ a: [Float], _ b: [Double], tol: Float = 0, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "length", file: file, line: line)
    for i in 0..<min(a.count, b.count) where abs(a[i] - Float(b[i])) > tol {
        XCTFail("element \(i): \(a[i]) vs reference \(b[i])", file: file, line: line)
        return
    }
}

extension CheckpointError {
    /// The case name, e.g. "truncated".
    var kind: String { Mirror(reflecting: self).children.first?.label ?? "" }
    var isTruncated: Bool { if case .truncated = self { return true }; return false }
    var isMalformed: Bool { if case .malformed = self { return true }; return false }
    var isUnsupported: Bool { if case .unsupported = self { return true }; return false }
    var isOutOfRange: Bool { if case .outOfRange = self { return true }; return false }
}
