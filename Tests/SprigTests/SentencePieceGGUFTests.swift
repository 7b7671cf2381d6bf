import Foundation
import XCTest
import Sprig
import Tokenizer

/// A GGUF SentencePiece vocabulary (`tokenizer.ggml.model` "llama": pieces, scores, token
/// types, add_space_prefix) loads through `LanguageModel.loadTokenizer` and tokenizes as
/// llama.cpp does (llama-cpp-python 0.3.36, `tokenize(special=True)`), on the 121 strings of
/// Experiments/reference/tokenizer/spm_fixtures.py: the pieces merge by score, text after a
/// special token gets its leading space, and characters without a piece fall back to bytes.
final class SentencePieceGGUFTests: XCTestCase {
    struct Case: Decodable {
        struct Ids: Decodable {
            let ids: [Int]
            let ids_plain: [Int]
            let detok_c: String
        }
        let text: String
        let llama_cpp: Ids
    }
    struct Reference: Decodable {
        let cases: [Case]
    }

    func testGGUFVocabularyMatchesLlamaCpp() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../TokenizerTests/Fixtures").standardized
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: fixtures.appendingPathComponent("spm_reference.json")))
        let tok = try LanguageModel.loadTokenizer(path: fixtures.appendingPathComponent("spm-llama.gguf").path)
        XCTAssertEqual(tok.bosID, 1)
        XCTAssertEqual(tok.stopIDs, [2])
        XCTAssertGreaterThan(ref.cases.count, 100)
        for c in ref.cases {
            XCTAssertEqual(tok.encode(c.text), c.llama_cpp.ids, c.text.debugDescription)
            XCTAssertEqual(tok.encode(c.text, addSpecialTokens: false), c.llama_cpp.ids_plain, c.text.debugDescription)
            // llama.cpp's own decode (specials rendered, the first piece's leading space cut)
            // is what the model's tokenizer.json decoder gives too.
            XCTAssertEqual(tok.decode(c.llama_cpp.ids), c.llama_cpp.detok_c, c.text.debugDescription)
        }
        // Runs of byte tokens (invalid ones too) read as the model's tokenizer.json decoder
        // (Replace, ByteFallback, Fuse, Strip) reads them.
        struct Decode: Decodable { let ids: [Int]; let legacy: String }
        struct Decodes: Decodable { let cases: [Decode] }
        let decodes = try JSONDecoder().decode(Decodes.self, from: Data(contentsOf: fixtures.appendingPathComponent("spm_decode_reference.json")))
        XCTAssertEqual(decodes.cases.count, 52)
        for c in decodes.cases { XCTAssertEqual(tok.decode(c.ids), c.legacy, "\(c.ids)") }
    }
}
