import Foundation
import Kernels
import XCTest
@testable import Transformer

/// `FusedSampler` (plain and nucleus draws in one C call) against the Swift path it replaces:
/// the same token, the same log-probability bits, the row restored bit for bit, and the
/// generator in the same state, over rows of many shapes, penalties, temperatures and cuts.
final class FusedSamplerTests: XCTestCase {
    /// SplitMix64's numbers under another type: `Sampler.sample` then takes its Swift path.
    struct SwiftPathGenerator: RandomNumberGenerator {
        var inner: SplitMix64
        mutating func next() -> UInt64 { inner.next() }
    }

    /// A row of n logits: a body spread over `spread` and `strong` peaked tokens above it.
    func row(_ n: Int, seed: UInt64, spread: Float, strong: Int, lead: Float) -> [Float] {
        var g = SplitMix64(seed: seed)
        var r = (0..<n).map { _ in g.uniform(-spread, spread) }
        for k in 0..<min(strong, n) { r[Int(g.next() % UInt64(n))] = spread + lead - Float(k) * 0.7 }
        return r
    }

    func bits(_ x: [Float]) -> [UInt32] { x.map(\.bitPattern) }

    func testTheCDrawMatchesTheSwiftPathBitForBit() throws {
        try XCTSkipUnless(FusedSampler.available, "needs AVX-512 (the C pass)")
        let shapes: [(n: Int, spread: Float, strong: Int, lead: Float)] = [
            (1, 1, 0, 0), (7, 2, 1, 3), (8, 3, 2, 1), (9, 1, 0, 0), (255, 4, 1, 20), (256, 6, 3, 8), (257, 2, 2, 0.5),
            (263, 8, 1, 30), (263, 3, 4, 2), (1000, 5, 5, 6), (4097, 4, 2, 12), (8191, 6, 3, 10),
        ]
        let settings = [
            SamplingParameters(temperature: 0.6, topP: 0.95, topK: 0, repetitionPenalty: 1.05),
            SamplingParameters(temperature: 1.0, topP: 0.9, topK: 0, repetitionPenalty: 1.3),
            SamplingParameters(temperature: 1.3, topP: 1, topK: 5, repetitionPenalty: 0.8),
            SamplingParameters(temperature: 0.7, topP: 0.5, topK: 2, repetitionPenalty: 1),
            SamplingParameters(temperature: 0.6, topP: 0.95, topK: 1, repetitionPenalty: 1.05),
            SamplingParameters(temperature: 1.0, topP: 1, topK: 0, repetitionPenalty: 1.05),   // plain, T = 1
            SamplingParameters(temperature: 0.8, topP: 1, topK: 0, repetitionPenalty: 1.3),    // plain, tempered
            SamplingParameters(temperature: 1.2, topP: 1, topK: 0, repetitionPenalty: 1),
        ]
        var drawnInC = 0
        for (s, shape) in shapes.enumerated() {
            let raw = row(shape.n, seed: UInt64(s + 1), spread: shape.spread, strong: shape.strong, lead: shape.lead)
            // A history with repeats, out-of-range ids and the row's strongest tokens.
            let top = raw.indices.sorted { raw[$0] > raw[$1] }.prefix(3)
            let history = [shape.n - 1, 0, -4, shape.n, 0] + top + [shape.n / 2, shape.n + 100, shape.n - 1]
            for p in settings where FusedSampler.takes(count: shape.n, nucleus: p.topP < 1 || p.topK > 0) {
                var swiftRNG = SwiftPathGenerator(inner: SplitMix64(seed: 77)), cRNG = SplitMix64(seed: 77)
                var swiftSpace = SamplerWorkspace()
                let space = FusedSamplerSpace()
                for _ in 0..<40 {
                    var a = raw, b = raw
                    let x = a.withUnsafeMutableBufferPointer {
                        Sampler.sample($0, parameters: p, previous: history, rng: &swiftRNG, workspace: &swiftSpace)
                    }
                    let before = cRNG
                    let temperature = Float(p.temperature)
                    let penalised = p.repetitionPenalty != 1 ? history : []
                    let y = b.withUnsafeMutableBufferPointer { row in
                        penalised.withUnsafeBufferPointer { h in FusedSampler.sample(row, previous: h,
                                           penalty: Float(p.repetitionPenalty), invT: 1 / temperature,
                                           window: temperature * Float(Foundation.log(1024.0)), topP: p.topP, topK: p.topK,
                                           rng: &cRNG, space: space) }
                    }
                    XCTAssertEqual(bits(b), bits(raw), "the row is restored (n \(shape.n))")
                    guard let y else {   // declined: nothing touched; the Swift path draws instead
                        var g = before, h = cRNG
                        XCTAssertEqual(g.next(), h.next(), "a declined draw leaves the generator")
                        cRNG = swiftRNG.inner
                        continue
                    }
                    drawnInC += 1
                    XCTAssertEqual(y.token, x.token, "n \(shape.n) \(p)")
                    XCTAssertEqual(y.logProb.bitPattern, x.logProb.bitPattern, "n \(shape.n) \(p)")
                }
                var g1 = swiftRNG.inner, g2 = cRNG
                XCTAssertEqual(g1.next(), g2.next(), "the generators advanced alike")
            }
        }
        XCTAssertGreaterThan(drawnInC, 2000, "most draws ran in C")
    }

    /// A flat row has more candidates than either path keeps: it declines, and
    /// `Sampler.sample` (same generator type) still draws from the nucleus through its own pass.
    func testAWideNucleusIsLeftToTheSwiftPath() throws {
        try XCTSkipUnless(FusedSampler.available, "needs AVX-512 (the C pass)")
        let raw = row(5000, seed: 5, spread: 0.01, strong: 0, lead: 0)
        var b = raw
        var g = SplitMix64(seed: 3)
        let start = g
        let p = SamplingParameters(temperature: 0.6, topP: 0.95, topK: 0, repetitionPenalty: 1.1)
        let y = b.withUnsafeMutableBufferPointer { row in
            [1, 2, 3].withUnsafeBufferPointer { h in FusedSampler.sample(row, previous: h, penalty: 1.1, invT: 1 / 0.6, window: 0.6 * Float(Foundation.log(1024.0)),
                               topP: 0.95, topK: 0, rng: &g, space: FusedSamplerSpace()) }
        }
        XCTAssertNil(y)
        XCTAssertEqual(bits(b), bits(raw))
        var s1 = start, s2 = g
        XCTAssertEqual(s1.next(), s2.next())
        var w = SamplerWorkspace(), wRef = SamplerWorkspace()
        var c = raw, d = raw
        var engineRNG = SplitMix64(seed: 3), otherRNG = SwiftPathGenerator(inner: SplitMix64(seed: 3))
        let viaSampler = c.withUnsafeMutableBufferPointer {
            Sampler.sample($0, parameters: p, previous: [1, 2, 3], rng: &engineRNG, workspace: &w)
        }
        let swiftOnly = d.withUnsafeMutableBufferPointer {
            Sampler.sample($0, parameters: p, previous: [1, 2, 3], rng: &otherRNG, workspace: &wRef)
        }
        XCTAssertNotNil(w.fused, "Sampler.sample tried the C draw with the engine's generator")
        XCTAssertNil(wRef.fused, "and not with another generator")
        XCTAssertEqual(viaSampler.token, swiftOnly.token)
        XCTAssertEqual(viaSampler.logProb.bitPattern, swiftOnly.logProb.bitPattern)
        XCTAssertEqual(w.fallbacks, 1, "the second pass ran")
    }

    /// `Sampler.sample(_:settings:...)` (settings prepared once per extend) draws what
    /// `sample(_:parameters:...)` draws: token, log-probability bits, restored row and
    /// generator, for the C draw's cases, a declined wide nucleus, and greedy decoding.
    func testPreparedSettingsDrawLikeTheParameters() {
        let cases: [(n: Int, spread: Float, p: SamplingParameters)] = [
            (263, 8, SamplingParameters(temperature: 1.0, topP: 1, topK: 0, repetitionPenalty: 1.05)),
            (263, 3, SamplingParameters(temperature: 0.6, topP: 0.95, topK: 0, repetitionPenalty: 1.3)),
            (1000, 5, SamplingParameters(temperature: 1.3, topP: 1, topK: 5, repetitionPenalty: 1)),
            (5000, 0.01, SamplingParameters(temperature: 0.6, topP: 0.95, topK: 0, repetitionPenalty: 1.1)),   // wide nucleus
            (9000, 4, SamplingParameters(temperature: 0.8, topP: 1, topK: 0, repetitionPenalty: 1.05)),        // past the C draw
            (263, 8, SamplingParameters.greedy),
        ]
        for (k, c) in cases.enumerated() {
            let raw = row(c.n, seed: UInt64(k + 11), spread: c.spread, strong: 2, lead: 1)
            let history = [3, 1, c.n - 1, 7, 1]
            let settings = DrawSettings(c.p, vocabulary: c.n)
            var g1 = SplitMix64(seed: 9), g2 = SplitMix64(seed: 9)
            var w1 = SamplerWorkspace(), w2 = SamplerWorkspace()
            for _ in 0..<20 {
                var a = raw, b = raw
                let x = a.withUnsafeMutableBufferPointer {
                    Sampler.sample($0, parameters: c.p, previous: history, rng: &g1, workspace: &w1)
                }
                let y = b.withUnsafeMutableBufferPointer {
                    Sampler.sample($0, settings: settings, previous: history, rng: &g2, workspace: &w2)
                }
                XCTAssertEqual(y.token, x.token, "case \(k)")
                XCTAssertEqual(y.logProb.bitPattern, x.logProb.bitPattern, "case \(k)")
                XCTAssertEqual(bits(b), bits(raw), "case \(k): the row is restored")
            }
            XCTAssertEqual(g1.next(), g2.next(), "case \(k): the generators advanced alike")
            XCTAssertEqual(w1.fallbacks, w2.fallbacks, "case \(k)")
        }
    }
}
