import Foundation
import XCTest
@testable import Tokenizer

/// Decoding runs of `<0xXX>` byte tokens as Hugging Face `tokenizers` does
/// (Experiments/reference/tokenizer/spm_decode_fixtures.py): under a ByteFallback decoder a
/// run that is not valid UTF-8 is one U+FFFD per token, a valid character inside it included;
/// without one (the Metaspace decoder) the tokens read as their spellings. One decode, the
/// streamed decode and the batched streamed decode all give Hugging Face's text, for 52
/// sequences (invalid, truncated and split runs, runs at either end, specials between runs).
final class SentencePieceDecodeTests: XCTestCase {
    struct Case: Decodable {
        let ids: [Int]
        let legacy: String
        let metaspace: String
        let metaspace_split: String
    }
    struct Reference: Decodable { let cases: [Case] }

    func testByteRunsDecodeAsHuggingFaceDoes() throws {
        let spm = try SentencePieceTests.reference()
        let url = try XCTUnwrap(Bundle.module.url(forResource: "spm_decode_reference", withExtension: "json",
                                                  subdirectory: "Fixtures"))
        let cases = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url)).cases
        XCTAssertEqual(cases.count, 52)
        XCTAssertGreaterThan(cases.filter { $0.legacy.contains("\u{FFFD}") }.count, 20, "the cases probe invalid runs")
        let forms: [(String, String, KeyPath<Case, String>)] = [
            ("legacy", spm.hf_legacy_tokenizer, \.legacy), ("metaspace", spm.hf_metaspace_tokenizer, \.metaspace),
            ("split", spm.hf_metaspace_split_tokenizer, \.metaspace_split)]
        for (name, json, expected) in forms {
            let tok = try BPETokenizer(tokenizerJSON: Data(json.utf8), configJSON: nil, path: name)
            for c in cases {
                let want = c[keyPath: expected]
                XCTAssertEqual(tok.decode(c.ids), want, "\(name) \(c.ids)")
                var stream = StreamingDecoder(tokenizer: tok)
                var streamed = ""
                for id in c.ids { streamed += stream.append(id) }
                streamed += stream.finish()
                XCTAssertEqual(streamed, want, "\(name) streamed \(c.ids)")
                var batch = StreamingDecoder(tokenizer: tok)
                XCTAssertEqual(batch.append(contentsOf: c.ids) + batch.finish(), want, "\(name) batch \(c.ids)")
            }
        }
    }
}
