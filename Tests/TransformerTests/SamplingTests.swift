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
