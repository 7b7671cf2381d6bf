import Foundation
import XCTest
@testable import Sprig

/// A tiny Hugging Face folder in a temp dir: the random Qwen2 fixture of TransformerTests
/// (hidden 64, vocab 320, 128 positions) with a byte-level tokenizer written here, and a
/// sprig.json whose step patterns are letters, so random text has many steps.
enum TinyModelFolder {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../TransformerTests/Fixtures/qwen2-f32").standardized

    /// GPT-2's byte → printable character table (byte-level BPE spelling of each byte).
    static func byteSpelling() -> [String] {
        var direct = Array(33...126) + Array(161...172) + Array(174...255)
        var scalars = direct
        var extra = 0
        for b in 0..<256 where !direct.contains(b) {
            direct.append(b)
            scalars.append(256 + extra)
            extra += 1
        }
        var table = [String](repeating: "", count: 256)
        for (b, s) in zip(direct, scalars) { table[b] = String(Character(Unicode.Scalar(UInt32(s))!)) }
        return table
    }

    static let stepLetters = (Array("abcdefghijklmnopqrstuvwxyz") + Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")).map(String.init)

    static func make() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sprig-tiny-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: fixture.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        var vocab: [String: Int] = [:]
        for (b, s) in byteSpelling().enumerated() { vocab[s] = b }
        var added: [[String: Any]] = [
            ["id": 256, "content": "<|im_start|>", "special": true],
            ["id": 257, "content": "<|im_end|>", "special": true],
        ]
        for id in 258..<320 { added.append(["id": id, "content": "<f\(id)>", "special": false]) }
        let tokenizer: [String: Any] = [
            "model": ["type": "BPE", "vocab": vocab, "merges": [String]()],
            "added_tokens": added,
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true],
            "decoder": ["type": "ByteLevel"],
        ]
        try JSONSerialization.data(withJSONObject: tokenizer).write(to: dir.appendingPathComponent("tokenizer.json"))
        let format: [String: Any] = ["prompt_template": "Q: {question}\nA:", "step_patterns": stepLetters]
        try JSONSerialization.data(withJSONObject: format).write(to: dir.appendingPathComponent("sprig.json"))
        return dir.path
    }
}
