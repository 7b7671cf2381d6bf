import Foundation
import XCTest
@testable import Tokenizer

final class DecoderTests: XCTestCase {
    func testIncompleteTailLength() {
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([]), 0)
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0x61]), 0)
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0x61, 0xF0, 0x9F]), 2)    // 😀 missing 2 bytes
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0xF0, 0x9F, 0x98]), 3)
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0xF0, 0x9F, 0x98, 0x80]), 0)  // complete
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0xE4]), 1)
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0xE0, 0x80]), 0)  // overlong: invalid, not held
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0xED, 0xA0]), 0)  // surrogate: invalid
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0x80]), 0)        // lone continuation
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0xC0]), 0)        // never valid
    }

    /// Byte by byte through single-byte tokens: each character appears exactly when complete.
    func testStreamingHoldsPartialCharacters() throws {
        let tok = try TestSupport.qwen()
        let text = "a\u{e9}\u{4e2d}\u{1F600}!"
        var stream = StreamingDecoder(tokenizer: tok)
        var pieces: [String] = []
        for b in text.utf8 {
            let id = try XCTUnwrap(tok.id(of: ByteLevel.encode([b])))
            pieces.append(stream.append(id))
        }
        XCTAssertEqual(pieces, ["a", "", "\u{e9}", "", "", "\u{4e2d}", "", "", "", "\u{1F600}", "!"])
        XCTAssertEqual(stream.finish(), "")
        // An unfinished character is flushed as U+FFFD.
        var s2 = StreamingDecoder(tokenizer: tok)
        XCTAssertEqual(s2.append(try XCTUnwrap(tok.id(of: ByteLevel.encode([0xF0])))), "")
        XCTAssertEqual(s2.finish(), "\u{FFFD}")
    }

    func testByteLevelMapIsABijection() {
        XCTAssertEqual(Set(ByteLevel.byteToScalar).count, 256)
        for b in 0..<256 {
            XCTAssertEqual(ByteLevel.decode(ByteLevel.encode([UInt8(b)])), [UInt8(b)])
        }
        XCTAssertEqual(ByteLevel.encode(Array(" \n".utf8)), "\u{120}\u{10A}")  // Ġ Ċ
    }

    func testDefaultSystemPromptExtraction() {
        let smol = "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
        XCTAssertEqual(ChatTemplate.defaultSystemPrompt(in: smol),
                       "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        let qwen25 = #"{{- '<|im_start|>system\n' }}{{- messages[0]['content'] }}{{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}"#
        XCTAssertEqual(ChatTemplate.defaultSystemPrompt(in: qwen25),
                       "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.")
        let qwen3 = #"{{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}"#
        XCTAssertNil(ChatTemplate.defaultSystemPrompt(in: qwen3))
    }
}
