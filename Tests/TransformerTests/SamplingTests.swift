import Foundation
import XCTest
@testable import Transformer

/// The sampler draws from softmax(logits / T) restricted to the top-k / top-p set, and
/// reports the model's log-probability (log-softmax of the raw logits) of its pick.
final class SamplingTests: XCTestCase {
    let raw: [Float] = [2.0, 1.0, 0.5, -1.0, 3.0, 0.0, -2.0, 1.5, 0.25, -0.5, 2.5]

    func logSoftmax(_ x: [Float], temperature t: Double = 1) -> [Double] {
        let m = Double(x.max()!)
        let z = log(x.map { exp((Double($0) - m) / t) }.reduce(0, +))
        return x.map { (Double($0) - m) / t - z }
    }

    func draw(_ p: SamplingParameters, count: Int, seed: UInt64) -> [Int: Int] {
        var rng = SplitMix64(seed: seed)
        var hits: [Int: Int] = [:]
        let ref = logSoftmax(raw)
        for _ in 0..<count {
            var row = raw
            let (t, lp) = row.withUnsafeMutableBufferPointer { Sampler.sample($0, parameters: p, previous: [], rng: &rng) }
            XCTAssertEqual(lp, ref[t], accuracy: 1e-4, "log-prob of the pick under the raw logits")
            hits[t, default: 0] += 1
        }
        return hits
    }

    func testFrequenciesFollowTheTemperedSoftmax() {
        let n = 20_000
        let hits = draw(SamplingParameters(temperature: 0.7, topP: 1, topK: 0, repetitionPenalty: 1), count: n, seed: 3)
        let expected = logSoftmax(raw, temperature: 0.7).map(exp)
        for (i, p) in expected.enumerated() {
            let observed = Double(hits[i, default: 0]) / Double(n)
            XCTAssertEqual(observed, p, accuracy: 4 * (p * (1 - p) / Double(n)).squareRoot() + 1e-3, "token \(i)")
        }
    }

    func testTopKAndTopPKeepOnlyTheNucleus() {
        let topK = draw(SamplingParameters(temperature: 1, topP: 1, topK: 3, repetitionPenalty: 1), count: 2000, seed: 5)
        XCTAssertEqual(Set(topK.keys), [4, 10, 0])                 // the three largest logits
        // Probabilities at T = 1: 3.0 → 0.387, 2.5 → 0.235, 2.0 → 0.143, 1.5 → 0.086 ...:
        // cumulative 0.387, 0.622, 0.765: top-p 0.6 keeps two tokens, top-p 0.7 three.
        let topP = draw(SamplingParameters(temperature: 1, topP: 0.6, topK: 0, repetitionPenalty: 1), count: 2000, seed: 7)
        XCTAssertEqual(Set(topP.keys), [4, 10])
        let topP7 = draw(SamplingParameters(temperature: 1, topP: 0.7, topK: 0, repetitionPenalty: 1), count: 2000, seed: 7)
        XCTAssertEqual(Set(topP7.keys), [4, 10, 0])
    }

    func testGreedyAndPenalty() {
        var rng = SplitMix64(seed: 1)
        var row = raw
        XCTAssertEqual(row.withUnsafeMutableBufferPointer { Sampler.sample($0, parameters: .greedy, previous: [], rng: &rng) }.token, 4)
        row = raw
        let penalised = SamplingParameters(temperature: 0, topP: 1, topK: 0, repetitionPenalty: 2)
        // 3.0 / 2 = 1.5 < 2.5: the penalised favourite loses to the runner-up.
        XCTAssertEqual(row.withUnsafeMutableBufferPointer { Sampler.sample($0, parameters: penalised, previous: [4], rng: &rng) }.token, 10)
    }

    func testSameSeedSameDraws() {
        let p = SamplingParameters(temperature: 0.9, topP: 0.95, topK: 0, repetitionPenalty: 1)
        XCTAssertEqual(draw(p, count: 500, seed: 11), draw(p, count: 500, seed: 11))
    }
}

/// The single-pass sampler on vocabulary-sized rows: same picks as the definition
/// (sorted nucleus over exp((l − max)/T)), workspace reuse changes nothing, and the
/// penalty and the wide-nucleus fallback keep the model's log-probabilities exact.
final class SinglePassSamplingTests: XCTestCase {
    func row(_ n: Int, seed: UInt64, spread: Float) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in Float(Double(rng.next() >> 11) * 0x1.0p-53) * spread - spread / 2 }
    }

    /// The nucleus by definition: ids sorted by logit, cut where the tempered mass reaches top-p.
    func referenceNucleus(_ l: [Float], temperature t: Double, topP: Double) -> Set<Int> {
        let m = Double(l.max()!)
        let e = l.map { exp((Double($0) - m) / t) }
        let total = e.reduce(0, +)
        let order = l.indices.sorted { e[$0] > e[$1] || (e[$0] == e[$1] && $0 < $1) }
        var cum = 0.0
        var keep: Set<Int> = []
        for i in order {
            keep.insert(i)
            cum += e[i]
            if cum >= topP * total { break }
        }
        return keep
    }

    func logSoftmax(_ l: [Float], _ t: Int) -> Double {
        let m = Double(l.max()!)
        return Double(l[t]) - m - log(l.map { exp(Double($0) - m) }.reduce(0, +))
    }

    func testNucleusPicksStayInTheReferenceNucleusWithExactLogProbs() {
        // An LLM-like row: a broad body (sum of 4 uniforms, sd ≈ 2.3) and a few strong tokens.
        let parts = (1...4).map { row(49_152, seed: $0, spread: 8) }
        var raw = (0..<49_152).map { i in parts.reduce(Float(0)) { $0 + $1[i] } }
        for (k, i) in [7, 1_000, 20_000, 33_333, 49_151].enumerated() { raw[i] = 14 - Float(k) * 0.4 }
        let p = SamplingParameters(temperature: 0.6, topP: 0.95, topK: 0, repetitionPenalty: 1)
        let nucleus = referenceNucleus(raw, temperature: 0.6, topP: 0.95)
        var rng = SplitMix64(seed: 2)
        var w = SamplerWorkspace()
        for _ in 0..<200 {
            var l = raw
            let (t, lp) = l.withUnsafeMutableBufferPointer { Sampler.sample($0, parameters: p, previous: [Int](), rng: &rng, workspace: &w) }
            XCTAssertTrue(nucleus.contains(t), "token \(t) outside the nucleus")
            XCTAssertEqual(lp, logSoftmax(raw, t), accuracy: 1e-5)
        }
        XCTAssertEqual(w.fallbacks, 0, "a peaked row needs one pass")
    }

    func testWorkspaceReuseDrawsTheSameAsFreshWorkspaces() {
        let raw = row(10_000, seed: 3, spread: 16)
        let previous = [5, 17, 5, 9_999, 123]
        for p in [SamplingParameters(temperature: 0.8, topP: 0.9, topK: 0, repetitionPenalty: 1.3),
                  SamplingParameters(temperature: 1.0, topP: 1, topK: 0, repetitionPenalty: 1),
                  SamplingParameters(temperature: 0.7, topP: 1, topK: 0, repetitionPenalty: 0.8),
                  SamplingParameters(temperature: 0, topP: 1, topK: 0, repetitionPenalty: 2)] {
            var rngA = SplitMix64(seed: 9), rngB = SplitMix64(seed: 9)
            var shared = SamplerWorkspace()
            for _ in 0..<50 {
                var a = raw, b = raw
                var fresh = SamplerWorkspace()
                let x = a.withUnsafeMutableBufferPointer { Sampler.sample($0, parameters: p, previous: previous, rng: &rngA, workspace: &shared) }
                let y = b.withUnsafeMutableBufferPointer { Sampler.sample($0, parameters: p, previous: previous, rng: &rngB, workspace: &fresh) }
                XCTAssertEqual(x.token, y.token)
                XCTAssertEqual(x.logProb, y.logProb)
                XCTAssertEqual(x.logProb, logSoftmax(raw, x.token), accuracy: 1e-5, "log-prob under the raw logits")
                XCTAssertEqual(a, raw, "the penalised entries are restored")
            }
        }
    }

    func testPlainSamplingFollowsTheTemperedSoftmaxOverManyChunks() {
        // 600 tokens (3 chunks), all mass on 6 of them in different chunks.
        var raw = [Float](repeating: -30, count: 600)
        let hot = [3, 250, 256, 300, 511, 599]
        for (k, i) in hot.enumerated() { raw[i] = Float(k) * 0.3 }
        let t = 0.8
        let m = Double(raw.max()!)
        let e = hot.map { exp((Double(raw[$0]) - m) / t) }
        let z = e.reduce(0, +)
        var rng = SplitMix64(seed: 4)
        var w = SamplerWorkspace()
        var hits: [Int: Int] = [:]
        let n = 20_000
        for _ in 0..<n {
            var l = raw
            let p = SamplingParameters(temperature: t, topP: 1, topK: 0, repetitionPenalty: 1)
            hits[l.withUnsafeMutableBufferPointer { Sampler.sample($0, parameters: p, previous: [Int](), rng: &rng, workspace: &w) }.token, default: 0] += 1
        }
        XCTAssertEqual(Set(hits.keys), Set(hot))
        for (k, i) in hot.enumerated() {
            let expected = e[k] / z
            XCTAssertEqual(Double(hits[i, default: 0]) / Double(n), expected,
                           accuracy: 4 * (expected * (1 - expected) / Double(n)).squareRoot() + 1e-3, "token \(i)")
        }
    }

    func testFlatRowFallsBackToTheSecondPassAndKeepsTheNucleus() {
        let raw = row(5_000, seed: 5, spread: 0.5)   // nearly uniform: the nucleus is most of the row
        let p = SamplingParameters(temperature: 1, topP: 0.5, topK: 0, repetitionPenalty: 1)
        let nucleus = referenceNucleus(raw, temperature: 1, topP: 0.5)
        var rng = SplitMix64(seed: 6)
        var w = SamplerWorkspace()
        for _ in 0..<20 {
            var l = raw
            let (t, lp) = l.withUnsafeMutableBufferPointer { Sampler.sample($0, parameters: p, previous: [Int](), rng: &rng, workspace: &w) }
            XCTAssertTrue(nucleus.contains(t))
            XCTAssertEqual(lp, logSoftmax(raw, t), accuracy: 1e-5)
        }
        XCTAssertEqual(w.fallbacks, 20)
    }

    func testGreedyIsTheFirstArgmaxOfTheLargeRow() {
        var raw = row(70_001, seed: 7, spread: 10)
        raw[40_000] = 50
        raw[60_000] = 50
        var rng = SplitMix64(seed: 1)
        var l = raw
        let (t, lp) = l.withUnsafeMutableBufferPointer { Sampler.sample($0, parameters: .greedy, previous: [Int](), rng: &rng) }
        XCTAssertEqual(t, 40_000)
        XCTAssertEqual(lp, logSoftmax(raw, 40_000), accuracy: 1e-5)
    }
}
