import Foundation
import XCTest
@testable import Tokenizer

/// Chat prompts follow the family of the model's template (the text each family's
/// published template renders for one user turn, BOS left to the tokenizer), not ChatML
/// for every model.
final class ChatFormatTests: XCTestCase {
    func detect(_ template: String?, eos: String? = "</s>", tokens: Set<String> = []) -> ChatFormat {
        ChatFormat.detect(template: template, eosText: eos) { tokens.contains($0) }
    }

    func testFamiliesAreRecognised() {
        XCTAssertEqual(detect("{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n'}}{% endfor %}"), .chatML)
        XCTAssertEqual(detect("{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"), .llama3)
        XCTAssertEqual(detect("{{ bos_token + '[INST] ' + '<<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' }}"), .llama2)
        XCTAssertEqual(detect("{{ bos_token }}{{ '[INST] ' + message['content'] + ' [/INST]' }}"), .mistral)
        XCTAssertEqual(detect("{{ '<|user|>\\n' + message['content'] + eos_token }}{{ '<|assistant|>' }}"),
                       .userAssistant(end: "</s>"))
        XCTAssertEqual(detect("{{'<|user|>' + '\\n' + message['content'] + '<|end|>'}}{{'<|assistant|>\\n'}}"),
                       .userAssistant(end: "<|end|>"))
        // Without a template the vocabulary's turn tokens decide; a base model gets its text as is.
        XCTAssertEqual(detect(nil, tokens: ["<|im_start|>", "<|im_end|>"]), .chatML)
        XCTAssertEqual(detect(nil, tokens: ["<|start_header_id|>"]), .llama3)
        XCTAssertEqual(detect(nil), .plain)
        XCTAssertEqual(detect("{{ messages[0]['content'] }}"), .plain)
    }

    func testPromptsOfEachFamily() {
        XCTAssertEqual(ChatFormat.llama3.prompt(user: "Hi ", system: nil),
                       "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        XCTAssertEqual(ChatFormat.llama2.prompt(user: "Hi", system: "Be brief."),
                       "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]")
        XCTAssertEqual(ChatFormat.llama2.prompt(user: "Hi", system: nil), "[INST] Hi [/INST]")
        XCTAssertEqual(ChatFormat.mistral.prompt(user: "Hi", system: nil), "[INST] Hi [/INST]")
        XCTAssertEqual(ChatFormat.userAssistant(end: "</s>").prompt(user: "Hi", system: "S"),
                       "<|system|>\nS</s>\n<|user|>\nHi</s>\n<|assistant|>\n")
        XCTAssertEqual(ChatFormat.plain.prompt(user: "What is 2 * 3?", system: nil), "What is 2 * 3?")
    }

    /// Llama 3.1's template opens every prompt with a dated system block (its fallback date
    /// unless it asks strftime_now, as Llama 3.2's does); the system message goes inside it.
    func testLlama31DatedSystemBlock() {
        let l31 = #"""
        {{- bos_token }}
        {%- if not date_string is defined %}
            {%- set date_string = "26 Jul 2024" %}
        {%- endif %}
        {{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
        {{- "Cutting Knowledge Date: December 2023\n" }}
        {{- "Today Date: " + date_string + "\n\n" }}
        {{- system_message }}
        {{- "<|eot_id|>" }}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
        """#
        let format = detect(l31)
        XCTAssertEqual(format, .llama3Dated(knowledge: "December 2023", today: "26 Jul 2024"))
        // What transformers renders for one user turn (BOS left to the tokenizer).
        XCTAssertEqual(format.prompt(user: " Hi ", system: nil),
                       "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
                       + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        XCTAssertEqual(format.prompt(user: "Hi", system: " Be brief.\n"),
                       "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nBe brief.<|eot_id|>"
                       + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        // Llama 3.2: strftime_now("%d %b %Y") first, so today's date (C locale, local time).
        let l32 = l31.replacingOccurrences(of: "{%- if not date_string is defined %}",
                                           with: "{%- if not date_string is defined %}{%- if strftime_now is defined %}{%- set date_string = strftime_now(\"%d %b %Y\") %}{%- endif %}")
        XCTAssertEqual(detect(l32), .llama3Dated(knowledge: "December 2023", today: nil))
        var t = time(nil)
        var parts = tm()
        localtime_r(&t, &parts)
        var buf = [CChar](repeating: 0, count: 32)
        let n = strftime(&buf, buf.count, "%d %b %Y", &parts)
        let today = String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        XCTAssertTrue(detect(l32).prompt(user: "Hi", system: nil).contains("Today Date: \(today)\n\n"), today)
    }

    /// A SentencePiece tokenizer with a Llama 2 template: one BOS (from the post-processor),
    /// then the [INST] turn.
    func testLlama2PromptEncodesWithOneBOS() throws {
        let ref = try SentencePieceTests.reference()
        let config = #"{"bos_token": "<s>", "eos_token": "</s>", "chat_template": "{{ bos_token + '[INST] ' + '<<SYS>>\\n' + content.strip() + ' [/INST]' }}"}"#
        let tok = try BPETokenizer(tokenizerJSON: Data(ref.hf_legacy_tokenizer.utf8), configJSON: Data(config.utf8), path: "l2")
        let prompt = tok.chatPrompt(user: "What is 4821 * 37?")
        XCTAssertEqual(prompt, "[INST] What is 4821 * 37? [/INST]")
        let ids = tok.encode(prompt)
        XCTAssertEqual(ids.first, 1)
        XCTAssertEqual(ids.filter { $0 == 1 }.count, 1)
        XCTAssertEqual(tok.decode(ids, skipSpecialTokens: true), prompt)
    }
}
