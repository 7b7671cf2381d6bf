import Foundation
import XCTest
import PagedKV
@testable import Transformer

/// Logits and the SPRM feature match Hugging Face transformers (f32 math) on small
/// random checkpoints made by Experiments/reference/model/make_fixtures.py (and one GGUF with
/// Llama 3 rope scaling as llama.cpp stores it, make_gguf_fixture.py).
/// Tolerance: max |Δ| ≤ 1e-4 × max |logit| at every position.
final class ParityTests: XCTestCase {
    struct Reference: Decodable {
        let tokens: [Int]
        let logits: [[Float]]
        let hidden_penultimate: [[Float]]
        let greedy: [Int]
    }

    static let fixtures = ["qwen2-f32", "qwen2-bf16-tied", "llama-f32-tied", "llama-f16-sharded", "llama-bias",
                           "llama-mqa-1layer", "qwen2-1head", "llama3-rope-gguf", "mistral-window",
                           "qwen3-qknorm", "qwen3-qknorm-gguf", "phi3-fused",
                           "phi3-fused-gguf"]

    func fixture(_ name: String) throws -> (TransformerModel, Reference) {
        guard let dir = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw XCTSkip("fixture \(name) missing")
        }
        // A GGUF fixture (make_gguf_fixture.py) is its model.gguf; the others are HF folders.
        let gguf = dir.appendingPathComponent("model.gguf")
        let model = try TransformerModel.load(path: FileManager.default.fileExists(atPath: gguf.path) ? gguf.path : dir.path)
        let data = try Data(contentsOf: dir.appendingPathComponent("reference.json"))
        return (model, try JSONDecoder().decode(Reference.self, from: data))
    }

    func maxAbs(_ rows: [[Float]]) -> Float { rows.flatMap { $0 }.map(abs).max() ?? 0 }

    func testPrefillLogitsAndHiddenMatchReference() throws {
        for name in Self.fixtures {
            let (model, ref) = try fixture(name)
            let cache = model.makeCache(memoryBytes: 4 << 20, blockSize: 4)
            let seq = cache.createSequence()
            let out = try model.forward([ForwardEntry(sequence: seq, tokens: ref.tokens, allPositions: true)], cache: cache)
            XCTAssertEqual(out.rows, ref.tokens.count)
            let scale = maxAbs(ref.logits), hScale = maxAbs(ref.hidden_penultimate)
            var worst: Float = 0, worstH: Float = 0
            for p in 0..<ref.tokens.count {
                let row = out.logits(row: p)
                for v in 0..<model.config.vocabSize { worst = max(worst, abs(row[v] - ref.logits[p][v])) }
                let h = out.penultimateHidden(row: p)
                for i in 0..<model.config.hiddenSize { worstH = max(worstH, abs(h[i] - ref.hidden_penultimate[p][i])) }
            }
            print("parity \(name): logits max|diff| \(worst) (\(worst / scale) of max|logit| \(scale)), hidden[-2] max|diff| \(worstH)")
            XCTAssertLessThanOrEqual(worst, 1e-4 * scale, "\(name): logits max |diff| \(worst) vs scale \(scale)")
            XCTAssertLessThanOrEqual(worstH, 1e-4 * hScale, "\(name): hidden max |diff| \(worstH)")
        }
    }

    /// Token-by-token decode through the cache gives the same logits as the prefill.
    func testIncrementalDecodeMatchesReference() throws {
        for name in Self.fixtures {
            let (model, ref) = try fixture(name)
            let cache = model.makeCache(memoryBytes: 4 << 20, blockSize: 4)
            let seq = cache.createSequence()
            let scale = maxAbs(ref.logits)
            for (p, t) in ref.tokens.enumerated() {
                let out = try model.forward([ForwardEntry(sequence: seq, tokens: [t])], cache: cache)
                let row = out.logits(row: 0)
                var worst: Float = 0
                for v in 0..<model.config.vocabSize { worst = max(worst, abs(row[v] - ref.logits[p][v])) }
                XCTAssertLessThanOrEqual(worst, 1e-4 * scale, "\(name) position \(p)")
            }
        }
    }

    func testGreedyContinuationMatchesReference() throws {
        for name in Self.fixtures {
            let (model, ref) = try fixture(name)
            let cache = model.makeCache(memoryBytes: 4 << 20, blockSize: 4)
            let seq = cache.createSequence()
            var out = try model.forward([ForwardEntry(sequence: seq, tokens: ref.tokens)], cache: cache)
            var generated: [Int] = []
            var rng = SplitMix64(seed: 1)
            for _ in 0..<ref.greedy.count {
                let next = Sampler.sample(out.logits(row: 0), parameters: .greedy, previous: [], rng: &rng).token
                generated.append(next)
                out = try model.forward([ForwardEntry(sequence: seq, tokens: [next])], cache: cache)
            }
            XCTAssertEqual(generated, ref.greedy, name)
        }
    }
}
