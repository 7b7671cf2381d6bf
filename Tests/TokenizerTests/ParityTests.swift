import Foundation
import XCTest
@testable import Tokenizer

/// Exact parity with Hugging Face `tokenizers` (ids from Experiments/reference/tokenizer)
/// on the real Qwen (tokenizer.json) and SmolLM2 (GGUF arrays) vocabularies.
final class ParityTests: XCTestCase {
    private func checkEncode(_ tok: BPETokenizer, _ ref: TestSupport.Reference) {
        XCTAssertGreaterThanOrEqual(ref.cases.count, 250)
        var failures = 0
        for c in ref.cases {
            let ids = tok.encode(c.text)
            if ids != c.ids {
                failures += 1
                if failures <= 10 {
                    XCTFail("\(ref.model): \(c.text.debugDescription.prefix(80)) → \(ids.prefix(20)) expected \(c.ids.prefix(20))")
                }
            }
        }
        XCTAssertEqual(failures, 0, "\(ref.model): \(failures) of \(ref.cases.count) strings tokenised differently")
        XCTAssertGreaterThanOrEqual(ref.random_cases.count, 500)
        let randomFailures = ref.random_cases.filter { tok.encode($0.text) != $0.ids }
        XCTAssertEqual(randomFailures.count, 0, "\(ref.model): random strings differ, first: "
                       + "\(randomFailures.first.map { $0.text.unicodeScalars.map { String($0.value, radix: 16) } } ?? [])")
    }

    private func checkDecode(_ tok: BPETokenizer, _ ref: TestSupport.Reference) {
        for c in ref.cases {
            XCTAssertEqual(tok.decode(c.ids), c.decoded ?? c.text, "\(ref.model) round trip of \(c.text.debugDescription.prefix(60))")
        }
        for c in ref.decode_cases {
            XCTAssertEqual(tok.decode(c.ids), c.text, "\(ref.model) decode \(c.ids)")
        }
    }

    private func checkChat(_ tok: BPETokenizer, _ ref: TestSupport.Reference) {
        for c in ref.chat {
            let prompt = tok.chatPrompt(user: c.user, system: c.system)
            XCTAssertEqual(prompt, c.prompt, "\(ref.model) chat prompt, system \(c.system ?? "default")")
            XCTAssertEqual(tok.encode(prompt), c.ids)
        }
    }

    func testQwenEncodeMatchesHF() throws {
        checkEncode(try TestSupport.qwen(), try TestSupport.reference("qwen3_reference"))
    }

    func testQwenDecodeMatchesHF() throws {
        checkDecode(try TestSupport.qwen(), try TestSupport.reference("qwen3_reference"))
    }

    func testQwenChatPromptMatchesTemplate() throws {
        checkChat(try TestSupport.qwen(), try TestSupport.reference("qwen3_reference"))
    }

    func testQwenFacts() throws {
        let tok = try TestSupport.qwen()
        let ref = try TestSupport.reference("qwen3_reference")
        XCTAssertEqual(tok.vocabSize, ref.vocab_size)
        XCTAssertEqual(tok.vocabSize, 151_669)
        XCTAssertEqual(tok.id(of: "<think>"), 151_667)
        XCTAssertEqual(tok.id(of: "</think>"), 151_668)
        XCTAssertEqual(tok.id(of: "<|im_end|>"), 151_645)
        XCTAssertEqual(tok.encode(".\n\n"), [382])
        XCTAssertEqual(tok.eosID, 151_645)  // tokenizer_config.json: eos_token <|im_end|>
        XCTAssertNil(tok.bosID)
        XCTAssertEqual(tok.stopIDs, [151_643, 151_645])
        XCTAssertNil(tok.defaultSystemPrompt)  // Qwen3's template has no default system message
        XCTAssertEqual(tok.tokenBytes(151_667), Array("<think>".utf8))
        XCTAssertTrue(tok.isSpecial(151_645))
        XCTAssertFalse(tok.isSpecial(151_667))  // <think> is an added, non-special token
    }

    func testSmolEncodeMatchesHF() throws {
        checkEncode(try TestSupport.smol(), try TestSupport.reference("smollm2_reference"))
    }

    func testSmolDecodeMatchesHF() throws {
        checkDecode(try TestSupport.smol(), try TestSupport.reference("smollm2_reference"))
    }

    func testSmolChatPromptMatchesTemplate() throws {
        checkChat(try TestSupport.smol(), try TestSupport.reference("smollm2_reference"))
    }

    func testSmolFacts() throws {
        let tok = try TestSupport.smol()
        XCTAssertEqual(tok.vocabSize, 49_152)
        XCTAssertEqual(tok.bosID, 1)
        XCTAssertEqual(tok.eosID, 2)
        XCTAssertEqual(tok.stopIDs, [0, 2])
        XCTAssertEqual(tok.id(of: "<|im_start|>"), 1)
        XCTAssertEqual(tok.defaultSystemPrompt, "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        // Reference facts: ".\n\n" alone is "." + "\n\n"; inside text "." + "\n" + "\n".
        XCTAssertEqual(tok.encode(".\n\n"), [30, 1116])
        XCTAssertEqual(Array(tok.encode("a.\n\nb").dropFirst().dropLast()), [30, 198, 198])
    }

    /// Streaming the ids one by one yields exactly `decode` of all of them.
    func testQwenStreamingDecoderMatchesDecode() throws {
        let tok = try TestSupport.qwen()
        let ref = try TestSupport.reference("qwen3_reference")
        for c in ref.cases + ref.decode_cases.map({ .init(text: $0.text, ids: $0.ids, decoded: $0.text) }) {
            var stream = StreamingDecoder(tokenizer: tok)
            var text = ""
            for id in c.ids {
                let piece = stream.append(id)
                text += piece
            }
            text += stream.finish()
            XCTAssertEqual(text, tok.decode(c.ids))
            // In slices (a search decodes each chunk at once): the same text.
            var sliced = StreamingDecoder(tokenizer: tok)
            var whole = ""
            var rest = c.ids[...]
            while !rest.isEmpty {
                let k = min(rest.count, 1 + rest.count % 3)
                whole += sliced.append(contentsOf: rest.prefix(k))
                rest = rest.dropFirst(k)
            }
            whole += sliced.finish()
            XCTAssertEqual(whole, text)
        }
    }
}
