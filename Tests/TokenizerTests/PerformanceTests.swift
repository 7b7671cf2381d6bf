import Foundation
import XCTest
@testable import Tokenizer

/// Load time and encode throughput on Qwen's real vocabulary. The module is
/// always built with -O (Package.swift), so these hold in debug test builds.
/// Bounds are loose (shared 2-core machine); the measured numbers are printed.
final class PerformanceTests: XCTestCase {
    func testQwenLoadAndEncodeSpeed() throws {
        let url = try TestSupport.qwenTokenizerURL()
        let data = try Data(contentsOf: url)
        let config = try? Data(contentsOf: url.deletingLastPathComponent().appendingPathComponent("tokenizer_config.json"))
        let t0 = Date()
        let tok = try BPETokenizer(tokenizerJSON: data, configJSON: config, path: url.path)
        let loadSeconds = Date().timeIntervalSince(t0)

        // ~1.5 MB of mixed text from the reference corpus, repeated with variation
        // so the word cache sees both hits and misses.
        let ref = try TestSupport.reference("qwen3_reference")
        var text = ""
        var k = 0
        while text.utf8.count < 1_500_000 {
            for c in ref.cases { text += c.text + " \(k) " }
            k += 1
        }
        let t1 = Date()
        let ids = tok.encode(text)
        let encodeSeconds = Date().timeIntervalSince(t1)
        let mbPerSecond = Double(text.utf8.count) / 1e6 / encodeSeconds
        print("Qwen tokenizer: load \(String(format: "%.3f", loadSeconds)) s, encode \(String(format: "%.2f", mbPerSecond)) MB/s "
              + "(\(text.utf8.count) bytes → \(ids.count) tokens)")
        XCTAssertEqual(tok.decode(ids), PreTokenizer.nfc(Substring(text)))   // NFC itself: the HF parity cases
        XCTAssertLessThan(loadSeconds, 3.0)
        XCTAssertGreaterThan(mbPerSecond, 0.5)
    }
}
