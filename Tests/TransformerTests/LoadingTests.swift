import Foundation
import XCTest
@testable import Transformer
import Kernels

/// An untied checkpoint (tie_word_embeddings false) without lm_head.weight is broken:
/// Hugging Face would leave the head random, so loading must fail and name the tensor
/// rather than quietly reuse the embedding.
final class UntiedHeadTests: XCTestCase {
    func testUntiedCheckpointWithoutHeadIsAnError() throws {
        guard let source = Bundle.module.url(forResource: "qwen2-f32", withExtension: nil, subdirectory: "Fixtures") else {
            throw XCTSkip("fixture qwen2-f32 missing")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("untied-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"),
                                         to: dir.appendingPathComponent("config.json"))
        let file = dir.appendingPathComponent("model.safetensors")
        try Self.copySafetensors(source.appendingPathComponent("model.safetensors"), to: file, dropping: "lm_head.weight")

        XCTAssertThrowsError(try TransformerModel.load(path: dir.path)) { error in
            guard case let TransformerError.missingTensor(_, name) = error else {
                return XCTFail("expected missingTensor, got \(error)")
            }
            XCTAssertEqual(name, "lm_head.weight")
        }
        // The rewritten file itself is sound: the same folder marked tied loads.
        let config = dir.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8)
        XCTAssertTrue(text.contains("\"tie_word_embeddings\": false"))
        try text.replacingOccurrences(of: "\"tie_word_embeddings\": false", with: "\"tie_word_embeddings\": true")
            .write(to: config, atomically: true, encoding: .utf8)
        XCTAssertNoThrow(try TransformerModel.load(path: dir.path))
    }

    /// Rewrites a safetensors file without one tensor (header re-packed, offsets recomputed).
    static func copySafetensors(_ from: URL, to: URL, dropping name: String) throws {
        let data = try Data(contentsOf: from)
        let headerLength = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: data.subdata(in: 8..<8 + headerLength)) as? [String: Any])
        XCTAssertNotNil(header[name], "the fixture has \(name)")
        let body = data.subdata(in: 8 + headerLength..<data.count)
        var out: [String: Any] = [:]
        var payload = Data()
        for key in header.keys.sorted() where key != name {
            guard var entry = header[key] as? [String: Any], let offsets = entry["data_offsets"] as? [Int] else {
                out[key] = header[key]  // __metadata__
                continue
            }
            let start = payload.count
            payload.append(body.subdata(in: offsets[0]..<offsets[1]))
            entry["data_offsets"] = [start, payload.count]
            out[key] = entry
        }
        var json = try JSONSerialization.data(withJSONObject: out)
        while json.count % 8 != 0 { json.append(0x20) }
        var length = UInt64(json.count).littleEndian
        var file = Data(bytes: &length, count: 8)
        file.append(json)
        file.append(payload)
        try file.write(to: to)
    }
}

/// f32 weights that fit in the cores' L2 caches go to sgemm from two activation rows (the
/// products are compute-bound there); the dispatch changes speed, not the logits (ParityTests).
final class GemmDispatchTests: XCTestCase {
    func testCacheResidentF32ModelUsesGemmFromTwoRows() throws {
        guard let dir = Bundle.module.url(forResource: "qwen2-f32", withExtension: nil, subdirectory: "Fixtures") else {
            throw XCTSkip("fixture qwen2-f32 missing")
        }
        let model = try TransformerModel.load(path: dir.path)
        XCTAssertLessThan(model.weightBytes, CacheSizes.l2Bytes)
        let w = model.weights
        for l in [w.lmHead] + w.layers.flatMap({ [$0.qkv, $0.output, $0.gateUp, $0.down] }) {
            XCTAssertEqual(l.gemmRows, 2)
        }
    }
}

/// A Mistral folder (model_type "mistral", Llama's math) with a 32-token sliding window:
/// inside the window it is full attention (ParityTests: "mistral-window"), so the context
/// stops at the window and a longer sequence is refused instead of attended wrongly.
final class MistralWindowTests: XCTestCase {
    func testContextStopsAtTheSlidingWindow() throws {
        guard let dir = Bundle.module.url(forResource: "mistral-window", withExtension: nil, subdirectory: "Fixtures") else {
            throw XCTSkip("fixture mistral-window missing")
        }
        let model = try TransformerModel.load(path: dir.path)
        XCTAssertEqual(model.config.maxPositions, 32)   // max_position_embeddings 128, sliding_window 32
        // Phi-3's window caps its context the same way (the fixture's window is 48).
        let phi3 = try XCTUnwrap(Bundle.module.url(forResource: "phi3-fused", withExtension: nil, subdirectory: "Fixtures"))
        XCTAssertEqual(try TransformerModel.load(path: phi3.path).config.maxPositions, 48)
        let phi3GGUF = try XCTUnwrap(Bundle.module.url(forResource: "phi3-fused-gguf", withExtension: nil, subdirectory: "Fixtures"))
        XCTAssertEqual(try TransformerModel.load(path: phi3GGUF.appendingPathComponent("model.gguf").path).config.maxPositions, 48)
        let cache = model.makeCache(memoryBytes: 4 << 20, blockSize: 4)
        let seq = cache.createSequence()
        _ = try model.forward([ForwardEntry(sequence: seq, tokens: Array(repeating: 5, count: 32))], cache: cache)
        XCTAssertThrowsError(try model.forward([ForwardEntry(sequence: seq, tokens: [5])], cache: cache)) { error in
            guard case TransformerError.contextOverflow(needed: 33, limit: 32) = error else {
                return XCTFail("expected contextOverflow, got \(error)")
            }
        }
    }
}
