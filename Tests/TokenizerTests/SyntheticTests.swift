import Foundation
import XCTest
@testable import Tokenizer

/// Options the real vocabularies leave unused (added-token lstrip/rstrip/
/// single_word/normalized, prefix space, "a b" merges, ignore_merges, a BOS
/// template, the Llama-3 regex), each against Hugging Face on a small tokenizer.
final class SyntheticTests: XCTestCase {
    struct Case: Decodable {
        let text: String
        let ids: [Int]
    }
    struct Fixture: Decodable {
        let name: String
        let tokenizer: String
        let cases: [Case]
    }

    private func fixtures() throws -> [Fixture] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "synthetic_reference", withExtension: "json",
                                                  subdirectory: "Fixtures"))
        return try JSONDecoder().decode([Fixture].self, from: Data(contentsOf: url))
    }

    func testSyntheticTokenizersMatchHF() throws {
        let all = try fixtures()
        XCTAssertEqual(all.map(\.name), ["plain", "prefix_space", "string_merges", "ignore_merges", "bos_template",
                                         "llama3_digits"])
        for f in all {
            let tok = try BPETokenizer(tokenizerJSON: Data(f.tokenizer.utf8), configJSON: nil, path: f.name)
            for c in f.cases {
                XCTAssertEqual(tok.encode(c.text), c.ids, "\(f.name): \(c.text.debugDescription)")
            }
            if f.name == "bos_template" {
                // <ctl> (271) before and <ctl_long> (272) after, only with addSpecialTokens.
                XCTAssertEqual(tok.encode("hello", addSpecialTokens: false), [261])
                XCTAssertEqual(tok.encode("hello"), [271, 261, 272])
                XCTAssertEqual(tok.decode([271, 261, 272], skipSpecialTokens: true), "hello")
                XCTAssertEqual(tok.decode([271, 261, 272]), "<ctl>hello<ctl_long>")
            }
        }
    }

    /// The heap merge (long words) and the scan merge (short words) agree.
    func testHeapAndScanMergesAgree() throws {
        let tok = try TestSupport.qwen()
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("aaabbbeeeeinnorsttt  ..\n\u{00e9}\u{4e2d}".unicodeScalars)
        for _ in 0..<200 {
            let n = Int.random(in: 2...120, using: &rng)
            let text = String(String.UnicodeScalarView((0..<n).map { _ in alphabet.randomElement(using: &rng)! }))
            var ids: [Int32] = []
            for b in text.utf8 { ids.append(tok.model.byteIDs[Int(b)]) }
            XCTAssertEqual(tok.model.mergeByHeap(ids), tok.model.mergeByScan(ids), text.debugDescription)
        }
    }
}
