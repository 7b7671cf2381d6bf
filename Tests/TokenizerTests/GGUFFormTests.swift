import Foundation
import Synchronization
import XCTest
@testable import Tokenizer

/// The GGUF-array initialiser builds the same tokenizer as tokenizer.json:
/// Qwen's tokenizer.json rewritten as GGUF arrays (tokens by id, "a b" merges,
/// token types, pre "qwen2") must agree on every id's bytes and every corpus string.
final class GGUFFormTests: XCTestCase {
    func testQwenAsGGUFArraysMatchesTokenizerJSON() throws {
        let url = try TestSupport.qwenTokenizerURL()
        let fromJSON = try TestSupport.qwen()
        let spec = try TokenizerJSONReader.read(tokenizerJSON: Data(contentsOf: url), configJSON: nil, path: url.path)
        var tokens = [String](repeating: "", count: fromJSON.vocabSize)
        var types = [Int](repeating: 0, count: fromJSON.vocabSize)
        for (s, id) in spec.vocab {
            tokens[Int(id)] = s
            types[Int(id)] = 1
        }
        for t in spec.added {
            tokens[t.id] = t.content
            types[t.id] = t.special ? 3 : 4
        }
        XCTAssertFalse(types.contains(0), "ids are contiguous")
        let fromGGUF = try BPETokenizer(
            ggufTokens: tokens, merges: spec.merges.map { "\($0.0) \($0.1)" }, tokenTypes: types, pre: "qwen2",
            bosID: nil, eosID: fromJSON.eosID, chatTemplate: fromJSON.chatTemplate, path: "qwen.gguf")

        XCTAssertEqual(fromGGUF.vocabSize, fromJSON.vocabSize)
        for id in 0..<fromJSON.vocabSize where fromGGUF.tokenBytes(id) != fromJSON.tokenBytes(id) {
            XCTFail("token \(id) bytes differ")
        }
        XCTAssertEqual(fromGGUF.stopIDs, fromJSON.stopIDs)
        XCTAssertEqual(fromGGUF.id(of: "<think>"), 151_667)
        let ref = try TestSupport.reference("qwen3_reference")
        for c in ref.cases {
            XCTAssertEqual(fromGGUF.encode(c.text), c.ids, c.text.debugDescription)
        }
        XCTAssertEqual(fromGGUF.chatPrompt(user: "hi"), fromJSON.chatPrompt(user: "hi"))
    }

    /// Pathological inputs stay fast: one 200 kB word goes through the heap merge.
    /// `tokenizer.ggml.add_bos_token` / `add_eos_token` frame an encoding (llama.cpp's
    /// reading); unset, only the Llama 3 pre-tokenizer adds a BOS.
    func testAddBOSAndEOSFlags() throws {
        let tokens = ["a", "b", "ab", "<s>", "</s>"], types = [1, 1, 1, 3, 3]
        func make(pre: String, bos: Bool?, eos: Bool?) throws -> BPETokenizer {
            try BPETokenizer(ggufTokens: tokens, merges: ["a b"], tokenTypes: types, pre: pre, bosID: 3, eosID: 4,
                             addBOS: bos, addEOS: eos, chatTemplate: nil, path: "t.gguf")
        }
        XCTAssertEqual(try make(pre: "qwen2", bos: nil, eos: nil).encode("ab"), [2])
        XCTAssertEqual(try make(pre: "llama-bpe", bos: nil, eos: nil).encode("ab"), [3, 2])
        XCTAssertEqual(try make(pre: "llama-bpe", bos: false, eos: nil).encode("ab"), [2])
        XCTAssertEqual(try make(pre: "qwen2", bos: true, eos: true).encode("ab"), [3, 2, 4])
        XCTAssertEqual(try make(pre: "qwen2", bos: true, eos: true).encode("ab", addSpecialTokens: false), [2])
    }

    func testLongWordsAreNotQuadratic() throws {
        let tok = try TestSupport.qwen()
        for text in [String(repeating: "a", count: 200_000), String(repeating: " ", count: 200_000),
                     String(repeating: "\u{4e2d}", count: 70_000)] {
            let t0 = Date()
            let ids = tok.encode(text)
            XCTAssertLessThan(Date().timeIntervalSince(t0), 5.0)
            XCTAssertEqual(tok.decode(ids), text)
            XCTAssertLessThan(ids.count, text.utf8.count / 2)
        }
        // Qwen splits digits one by one (`\p{N}`): 200k digits are 200k tokens, in linear time.
        let digits = String(repeating: "7", count: 200_000)
        let t0 = Date()
        let ids = tok.encode(digits)
        XCTAssertLessThan(Date().timeIntervalSince(t0), 5.0)
        XCTAssertEqual(ids.count, digits.count)
        XCTAssertEqual(Set(ids), [tok.encode("7")[0]])
    }

    /// The shared word cache is safe under concurrent encoding: a fresh tokenizer
    /// (cold cache) encodes the corpus on 8 threads at once and gets the reference ids.
    func testConcurrentEncodingAgrees() throws {
        let tok = try BPETokenizer(contentsOf: try TestSupport.qwenTokenizerURL())
        let ref = try TestSupport.reference("qwen3_reference")
        let mismatches = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for c in ref.cases.shuffled() where tok.encode(c.text) != c.ids {
                mismatches.withLock { $0 += 1 }
            }
        }
        XCTAssertEqual(mismatches.withLock { $0 }, 0)
    }
}
