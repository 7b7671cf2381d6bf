import Foundation
import XCTest
import Kernels
@testable import SPRM

final class HeadTests: XCTestCase {
    struct Expected: Decodable { let c: Int; let inputs: [[Float]]; let scores: [Double] }

    func fixture(_ name: String) throws -> String {
        let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures")
        return try XCTUnwrap(url, "fixture \(name) missing: run Experiments/sprm-fixtures/make_fixtures.py").path
    }

    func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: try fixture("expected_scores.json"))))
    }

    func tempDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sprm-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// torch's sigmoid(head(x)) in eval mode vs ours, f32 math: agree to 1e-6.
    func testPtMatchesTorch() throws {
        let e = try expected()
        let head = try SPRMHead.load(path: try fixture("score_module.pt"))
        XCTAssertEqual(head.inputWidth, e.c)
        XCTAssertEqual(head.hiddenWidth, 2 * e.c)
        for (x, want) in zip(e.inputs, e.scores) { XCTAssertEqual(head.score(x), want, accuracy: 1e-6) }
    }

    /// The prefixed safetensors copy and the .pt give bit-identical scores (same f32 weights).
    func testSafetensorsAndPtIdentical() throws {
        let e = try expected()
        let pt = try SPRMHead.load(path: try fixture("score_module.pt"))
        let st = try SPRMHead.load(path: try fixture("sprm_prefixed.safetensors"))
        XCTAssertEqual(pt.w1, st.w1); XCTAssertEqual(pt.b1, st.b1); XCTAssertEqual(pt.w2, st.w2); XCTAssertEqual(pt.b2, st.b2)
        for x in e.inputs { XCTAssertEqual(pt.score(x), st.score(x)) }
    }

    func testBatchedScoresMatchSingle() throws {
        let e = try expected()
        let head = try SPRMHead.load(path: try fixture("score_module.pt"))
        let rows = e.inputs.flatMap { $0 }
        let batched = rows.withUnsafeBufferPointer { head.scores(rows: $0.baseAddress!, count: e.inputs.count) }
        for (i, x) in e.inputs.enumerated() { XCTAssertEqual(batched[i], head.score(x), accuracy: 1e-6) }
        XCTAssertEqual(rows.withUnsafeBufferPointer { head.scores(rows: $0.baseAddress!, count: 0) }, [])
        // A batch large enough to be split over the pool scores each row as a small one does.
        var g = SplitMix64(seed: 4)
        let many = (0..<(36 * head.inputWidth)).map { _ in g.uniform(-2, 2) }
        let whole = many.withUnsafeBufferPointer { head.scores(rows: $0.baseAddress!, count: 36) }
        XCTAssertGreaterThanOrEqual(36, SPRMHead.minRowsToSplit)
        for r in stride(from: 0, to: 36, by: 4) {   // parts of 4: one row alone takes another kernel
            let n = 4
            let part = many.withUnsafeBufferPointer { head.scores(rows: $0.baseAddress! + r * head.inputWidth, count: n) }
            for k in 0..<n { XCTAssertEqual(whole[r + k], part[k], accuracy: 1e-9, "row \(r + k)") }
        }
    }

    func testSaveLoadRoundTripAndFolder() throws {
        let e = try expected()
        let head = try SPRMHead.load(path: try fixture("score_module.pt"))
        let dir = try tempDir()
        try head.save(to: dir + "/sprm.safetensors")
        let back = try SPRMHead.load(path: dir)           // folder form
        for x in e.inputs { XCTAssertEqual(back.score(x), head.score(x)) }
        // A folder with only MetaStone's file.
        let dir2 = try tempDir()
        try FileManager.default.copyItem(atPath: try fixture("score_module.pt"), toPath: dir2 + "/score_module.pt")
        let fromPt = try SPRMHead.load(path: dir2 + "/")
        for x in e.inputs { XCTAssertEqual(fromPt.score(x), head.score(x)) }
        // The saved header is 8-byte aligned and its keys are MetaStone's, unprefixed.
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/sprm.safetensors")))
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        XCTAssertEqual(n % 8, 0)
        let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        for key in ["\"0.weight\"", "\"0.bias\"", "\"3.weight\"", "\"3.bias\""] { XCTAssertTrue(header.contains(key), header) }
        XCTAssertEqual(bytes.count, 8 + n + 4 * (32 * 16 + 32 + 32 + 1))
    }

    func testTruncatedPtIsClearError() throws {
        let path = try fixture("truncated_score_module.pt")
        XCTAssertThrowsError(try SPRMHead.load(path: path)) { error in
            guard case SPRMError.checkpoint(let p, _) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(p, path)
            XCTAssertTrue("\(error)".contains("truncated_score_module.pt"), "\(error)")
        }
    }

    func testBadShapePtNamesKey() throws {
        let path = try fixture("bad_shape_score_module.pt")
        XCTAssertThrowsError(try SPRMHead.load(path: path)) {
            XCTAssertEqual($0 as? SPRMError, .badShape(path: path, key: "3.weight", shape: [1, 48], expected: "[1, 32]"))
        }
    }

    func testMissingKeyAndBadShapeNameFileAndKey() throws {
        let dir = try tempDir()
        let c = 4, h = 8
        func tensor(_ n: String, _ s: [Int]) -> SafetensorsWriter.Tensor {
            .init(name: n, shape: s, values: [Float](repeating: 0.5, count: s.reduce(1, *)))
        }
        let missing = dir + "/missing.safetensors"
        try writeBytes(SafetensorsWriter.encode([tensor("sprm.0.weight", [h, c]), tensor("sprm.0.bias", [h]),
                                                 tensor("sprm.3.weight", [1, h])]), to: missing)
        XCTAssertThrowsError(try SPRMHead.load(path: missing)) {
            XCTAssertEqual($0 as? SPRMError, .missingKey(path: missing, key: "sprm.3.bias"))
            XCTAssertTrue("\($0)".contains("missing.safetensors") && "\($0)".contains("sprm.3.bias"))
        }
        let bad = dir + "/bad.safetensors"
        try writeBytes(SafetensorsWriter.encode([tensor("0.weight", [h, c]), tensor("0.bias", [h]),
                                                 tensor("3.weight", [1, h + 1]), tensor("3.bias", [1])]), to: bad)
        XCTAssertThrowsError(try SPRMHead.load(path: bad)) {
            XCTAssertEqual($0 as? SPRMError, .badShape(path: bad, key: "3.weight", shape: [1, h + 1], expected: "[1, \(h)]"))
        }
        let unrelated = dir + "/unrelated.safetensors"
        try writeBytes(SafetensorsWriter.encode([tensor("model.norm.weight", [c])]), to: unrelated)
        XCTAssertThrowsError(try SPRMHead.load(path: unrelated)) {
            XCTAssertEqual($0 as? SPRMError, .missingKey(path: unrelated, key: "0.weight"))
        }
        XCTAssertThrowsError(try SPRMHead.load(path: dir)) { XCTAssertEqual($0 as? SPRMError, .notFound(path: dir)) }
        XCTAssertThrowsError(try SPRMHead.load(path: dir + "/nope.pt")) {
            XCTAssertEqual($0 as? SPRMError, .notFound(path: dir + "/nope.pt"))
        }
        // Two complete prefixed heads and no unprefixed one: ambiguous.
        let two = dir + "/two.safetensors"
        try writeBytes(SafetensorsWriter.encode(["a.", "b."].flatMap { p in
            [tensor(p + "0.weight", [h, c]), tensor(p + "0.bias", [h]), tensor(p + "3.weight", [1, h]), tensor(p + "3.bias", [1])]
        }), to: two)
        XCTAssertThrowsError(try SPRMHead.load(path: two)) {
            XCTAssertEqual($0 as? SPRMError, .ambiguous(path: two, prefixes: ["a.", "b."]))
        }
    }

    func testTrajectoryScoreIsClampedGeometricMean() {
        XCTAssertEqual(SPRMHead.trajectoryScore([]), 0)
        XCTAssertEqual(SPRMHead.trajectoryScore([0.25, 1.0]), 0.5, accuracy: 1e-12)
        XCTAssertEqual(SPRMHead.trajectoryScore([0, 1]), (1e-10).squareRoot(), accuracy: 1e-15)
    }

    /// Per-step cost: c = 576 (SmolLM2, 2.6 MB of weights, cache-resident) and c = 1536
    /// (R1-Distill-1.5B, 19 MB streamed from memory per step: bandwidth-bound, ~1.5 ms at 13 GB/s).
    /// Bounds are loose because the machine is shared; the printout is the measurement.
    func testScoreCostAtRealWidths() {
        for (c, bound) in [(576, 2.0), (1536, 20.0)] {
            let head = SPRTrainer.initialHead(inputWidth: c, hiddenWidth: 2 * c, seed: 1)
            let x = (0..<c).map { Float(($0 % 7) - 3) * 0.1 }
            var s = head.score(x)
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<50 { s += head.score(x) }
            let perStep = Double(DispatchTime.now().uptimeNanoseconds - start) / 50 / 1e6
            print("SPRMHead.score c=\(c): \(String(format: "%.3f", perStep)) ms/step")
            XCTAssertTrue(s > 0)
            XCTAssertLessThan(perStep, bound)
        }
    }
}
