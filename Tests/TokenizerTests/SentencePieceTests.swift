import Foundation
import XCTest
@testable import Tokenizer

/// SentencePiece-style vocabularies (Llama 2 family) against the libraries that define them,
/// on a 900-piece BPE model trained by Experiments/reference/tokenizer/spm_fixtures.py:
/// its tokenizer.json in both of transformers' forms (legacy: Prepend + Replace normalizers;
/// Metaspace with prepend_scheme "first") and a third (Metaspace "always" with split and the
/// Metaspace decoder), read back by Hugging Face `tokenizers`. The
/// GGUF form against llama.cpp is in SprigTests (it loads through the GGUF reader).
final class SentencePieceTests: XCTestCase {
    struct HF: Decodable {
        let ids: [Int]
        let ids_plain: [Int]
        let decoded: String
        let decoded_skip: String
    }
    struct Case: Decodable {
        let text: String
        let hf_legacy: HF
        let hf_metaspace: HF
        let hf_metaspace_split: HF
    }
    struct Reference: Decodable {
        let vocab_size: Int
        let hf_legacy_tokenizer: String
        let hf_metaspace_tokenizer: String
        let hf_legacy_config: String?
        let hf_metaspace_split_tokenizer: String
        let cases: [Case]
    }

    static func reference() throws -> Reference {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "spm_reference", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    func check(_ tok: BPETokenizer, _ name: String, _ cases: [(String, HF)]) {
        for (text, hf) in cases {
            XCTAssertEqual(tok.encode(text), hf.ids, "\(name) encode \(text.debugDescription)")
            XCTAssertEqual(tok.encode(text, addSpecialTokens: false), hf.ids_plain, "\(name) plain \(text.debugDescription)")
            XCTAssertEqual(tok.decode(hf.ids), hf.decoded, "\(name) decode \(text.debugDescription)")
            XCTAssertEqual(tok.decode(hf.ids, skipSpecialTokens: true), hf.decoded_skip, "\(name) skip \(text.debugDescription)")
            // Streaming gives the same text as one decode (specials included).
            var stream = StreamingDecoder(tokenizer: tok)
            var streamed = ""
            for id in hf.ids { streamed += stream.append(id) }
            streamed += stream.finish()
            XCTAssertEqual(streamed, hf.decoded, "\(name) streamed \(text.debugDescription)")
            var batch = StreamingDecoder(tokenizer: tok)
            XCTAssertEqual(batch.append(contentsOf: hf.ids) + batch.finish(), hf.decoded, "\(name) batch \(text.debugDescription)")
        }
    }

    func testLegacyTokenizerJSONMatchesHF() throws {
        let ref = try Self.reference()
        let config = try XCTUnwrap(ref.hf_legacy_config)
        let tok = try BPETokenizer(tokenizerJSON: Data(ref.hf_legacy_tokenizer.utf8), configJSON: Data(config.utf8),
                                   path: "legacy")
        XCTAssertEqual(tok.vocabSize, ref.vocab_size)
        XCTAssertEqual(tok.bosID, 1)  // named in tokenizer_config.json
        XCTAssertEqual(tok.stopIDs, [2])
        XCTAssertGreaterThan(ref.cases.count, 100)
        check(tok, "legacy", ref.cases.map { ($0.text, $0.hf_legacy) })
    }

    func testMetaspaceTokenizerJSONMatchesHF() throws {
        let ref = try Self.reference()
        let tok = try BPETokenizer(tokenizerJSON: Data(ref.hf_metaspace_tokenizer.utf8), configJSON: nil, path: "metaspace")
        check(tok, "metaspace", ref.cases.map { ($0.text, $0.hf_metaspace) })
    }

    func testSplittingMetaspaceAndItsDecoderMatchHF() throws {
        let ref = try Self.reference()
        let tok = try BPETokenizer(tokenizerJSON: Data(ref.hf_metaspace_split_tokenizer.utf8), configJSON: nil, path: "split")
        check(tok, "split", ref.cases.map { ($0.text, $0.hf_metaspace_split) })
    }

    /// The cases exercise what makes the forms differ: byte fallback, and "▁" at the start
    /// and after added tokens (so a form ignoring either could not pass).
    func testCasesCoverByteFallbackAndPrefixRules() throws {
        let ref = try Self.reference()
        let tok = try BPETokenizer(tokenizerJSON: Data(ref.hf_legacy_tokenizer.utf8), configJSON: nil, path: "legacy")
        let byteTokens = Set((0..<256).compactMap { tok.id(of: DecodeRules.byteTokenSpelling(UInt8($0))) })
        XCTAssertEqual(byteTokens.count, 256)
        XCTAssertTrue(ref.cases.contains { !byteTokens.isDisjoint(with: $0.hf_legacy.ids) })
        XCTAssertTrue(ref.cases.contains { $0.hf_legacy.ids != $0.hf_metaspace.ids })
    }
}
