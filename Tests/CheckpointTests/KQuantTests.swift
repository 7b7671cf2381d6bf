import XCTest
@testable import Checkpoint

/// The GGUF block formats expanded to f32 at load (Q5_0, Q5_1, Q2_K … Q6_K) against gguf-py's
/// decoding of the same bytes (`Experiments/checkpoint-fixtures/make_kquant_fixture.py`).
final class KQuantTests: XCTestCase {
    func testBlocksDecodeAsGGUFPyDecodesThem() throws {
        let ref = try Fixture.json("kquants.json")
        for type in [TensorType.q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K] {
            let r = try XCTUnwrap(ref[type.rawValue] as? [String: Any], type.rawValue)
            let bytes = try XCTUnwrap(hexBytes(try XCTUnwrap(r["hex"] as? String)))
            let expected = try XCTUnwrap(r["values"] as? [Double])
            XCTAssertEqual(bytes.count, 2 * type.blockBytes, type.rawValue)
            XCTAssertEqual(expected.count, 2 * type.blockElements, type.rawValue)
            var out = [Float](repeating: .nan, count: expected.count)
            bytes.withUnsafeBytes { src in
                out.withUnsafeMutableBufferPointer { TensorView.decode(type, src.baseAddress!, expected.count, $0.baseAddress!) }
            }
            assertRelativelyClose(out, expected, type.rawValue)
        }
    }

    func hexBytes(_ hex: String) -> [UInt8]? {
        let chars = Array(hex.utf8)
        guard chars.count % 2 == 0 else { return nil }
        return stride(from: 0, to: chars.count, by: 2).compactMap { UInt8(String(decoding: chars[$0..<$0 + 2], as: UTF8.self), radix: 16) }
    }
}

/// |a − b| ≤ 1e-6 · max(1, |b|) elementwise (f32 decoders that may round in another order).
func assertRelativelyClose(_ a: [Float], _ b: [Double], _ what: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "length \(what)", file: file, line: line)
    for i in 0..<min(a.count, b.count) where !(abs(Double(a[i]) - b[i]) <= 1e-6 * max(1, abs(b[i]))) {
        XCTFail("\(what) element \(i): \(a[i]) vs reference \(b[i])", file: file, line: line)
        return
    }
}
