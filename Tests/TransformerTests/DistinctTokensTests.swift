import Foundation
import Kernels
import XCTest
@testable import Transformer

/// The repetition penalty's input kept incrementally (`DistinctTokens`) draws exactly what
/// the whole history does, and the penalised log-normaliser stays the raw logits' one.
final class DistinctTokensTests: XCTestCase {
    func testKeepsFirstOccurrencesInOrder() {
        var d = DistinctTokens([5, 3, 5, 200, 3, 0])
        XCTAssertEqual(d.ids, [5, 3, 200, 0])
        d.insert(64)
        d.insert(200)
        d.insert(-1)
        XCTAssertEqual(d.ids, [5, 3, 200, 0, 64])
        XCTAssertTrue(d.contains(64))
        XCTAssertFalse(d.contains(63))
        XCTAssertFalse(d.contains(1_000_000))
    }

    func logSoftmax(_ l: [Float], _ t: Int) -> Double {
        let m = Double(l.max()!)
        return Double(l[t]) - m - log(l.map { exp(Double($0) - m) }.reduce(0, +))
    }

    func testDistinctHistoryDrawsTheSameAsTheWholeHistory() {
        var gen = SplitMix64(seed: 21)
        // A small vocabulary (as the default model's, 263) with a long, repetitive history:
        // many penalised tokens near the max, so the normaliser's swap carries weight.
        let n = 263
        let raw = (0..<n).map { _ in Float(Double(gen.next() >> 11) * 0x1.0p-53) * 6 - 3 }
        var history: [Int] = []
        var distinct = DistinctTokens()
        for _ in 0..<400 {
            let t = Int(gen.next() % 40) * 5 % n
            history.append(t)
            distinct.insert(t)
        }
        XCTAssertLessThan(distinct.ids.count, history.count)
        XCTAssertGreaterThan(distinct.ids.count, 8, "more than one vector of swapped terms")
        for p in [SamplingParameters(temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1.05),
                  SamplingParameters(temperature: 0.7, topP: 0.9, topK: 0, repetitionPenalty: 1.3),
                  SamplingParameters(temperature: 0, topP: 1, topK: 0, repetitionPenalty: 2)] {
            var rngA = SplitMix64(seed: 4), rngB = SplitMix64(seed: 4)
            var wa = SamplerWorkspace(), wb = SamplerWorkspace()
            for _ in 0..<200 {
                var a = raw, b = raw
                let x = a.withUnsafeMutableBufferPointer { Sampler.sample($0, parameters: p, previous: history, rng: &rngA, workspace: &wa) }
                let y = b.withUnsafeMutableBufferPointer { Sampler.sample($0, parameters: p, previous: distinct.ids, rng: &rngB, workspace: &wb) }
                XCTAssertEqual(x.token, y.token)
                XCTAssertEqual(x.logProb, y.logProb)
                XCTAssertEqual(x.logProb, logSoftmax(raw, x.token), accuracy: 1e-6, "log-prob under the raw logits")
            }
        }
    }

    /// A copy of a workspace that has sampled gets its own buffers on its first draw
    /// (copy on write), so copies may sample on different threads: the C draw's buffers
    /// (the engine's generator) and the Swift path's (any other generator).
    func testWorkspaceCopiesDoNotShareBuffers() throws {
        let raw = (0..<300).map { Float($0 % 17) * 0.3 }
        let p = SamplingParameters(temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1.2)
        var a = raw
        if FusedSampler.available {
            var rng = SplitMix64(seed: 1)
            var w = SamplerWorkspace()
            _ = a.withUnsafeMutableBufferPointer { Sampler.sample($0, parameters: p, previous: [3, 4], rng: &rng, workspace: &w) }
            var copy = w
            XCTAssertTrue(w.fused != nil && copy.fused === w.fused)
            _ = a.withUnsafeMutableBufferPointer { Sampler.sample($0, parameters: p, previous: [5], rng: &rng, workspace: &copy) }
            XCTAssertFalse(copy.fused === w.fused)
            XCTAssertEqual(a, raw, "the row is restored")
        }
        var rng = FusedSamplerTests.SwiftPathGenerator(inner: SplitMix64(seed: 1))
        var w = SamplerWorkspace()
        _ = a.withUnsafeMutableBufferPointer { Sampler.sample($0, parameters: p, previous: [3, 4], rng: &rng, workspace: &w) }
        var copy = w
        XCTAssertTrue(w.penalty != nil && w.exps != nil && copy.penalty === w.penalty && copy.exps === w.exps)
        _ = a.withUnsafeMutableBufferPointer { Sampler.sample($0, parameters: p, previous: [5], rng: &rng, workspace: &copy) }
        XCTAssertFalse(copy.penalty === w.penalty)
        XCTAssertFalse(copy.exps === w.exps)
        XCTAssertEqual(a, raw, "the row is restored")
    }
}
