import Foundation
import Kernels

/// The engine's seeded generator lives in Kernels; re-exported here for callers of `Sampler`.
public typealias SplitMix64 = Kernels.SplitMix64

/// How the next token is drawn. Temperature 0 is greedy decoding.
public struct SamplingParameters: Codable, Sendable, Equatable {
    public var temperature: Double
    public var topP: Double
    public var topK: Int                  // 0 = off
    public var repetitionPenalty: Double  // 1 = off (HF semantics: divide positive logits, multiply negative)

    public init(temperature: Double = 0.6, topP: Double = 0.95, topK: Int = 0, repetitionPenalty: Double = 1.0) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.repetitionPenalty = repetitionPenalty
    }

    public static let greedy = SamplingParameters(temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1)
}

public enum Sampler {
    /// Draws a token from `logits` (modified in place by the penalty) and returns it with
    /// its log-probability under the model (log-softmax of the unmodified logits).
    public static func sample<G: RandomNumberGenerator>(
        _ logits: UnsafeMutableBufferPointer<Float>, parameters p: SamplingParameters,
        previous: some Sequence<Int>, rng: inout G
    ) -> (token: Int, logProb: Double) {
        let n = logits.count
        guard let base = logits.baseAddress, n > 0 else { return (0, 0) }
        // Model log-probability: log-softmax of the raw logits (before penalty and temperature).
        let logZ = Ops.logSumExp(base, count: n)
        var original: [Int: Float] = [:]      // raw values of penalised ids
        func logProb(_ t: Int) -> Double { Double(original[t] ?? logits[t]) - logZ }

        if p.repetitionPenalty != 1 {
            let penalty = Float(p.repetitionPenalty)
            for t in previous where t >= 0 && t < n && original[t] == nil {
                original[t] = logits[t]
                logits[t] = logits[t] > 0 ? logits[t] / penalty : logits[t] * penalty
            }
        }
        if p.temperature <= 0 {
            var best = 0
            var bv = -Float.infinity
            for i in 0..<n where logits[i] > bv { bv = logits[i]; best = i }
            return (best, logProb(best))
        }
        // Unnormalised probabilities, in place: e_i = exp((l_i − max)/T). The raw logit of
        // the chosen token is recovered as max + T·log(e) (or from `original` if penalised).
        let maxL = Ops.max(base, count: n)
        let temperature = Float(p.temperature)
        let total = Ops.expInPlace(base, count: n, shift: maxL, scale: 1 / temperature)
        func chosenLogProb(_ t: Int) -> Double {
            if let o = original[t] { return Double(o) - logZ }
            return Double(maxL) + Double(temperature) * Foundation.log(Double(logits[t])) - logZ
        }
        if p.topP >= 1 && p.topK <= 0 {
            // Plain sampling from the whole distribution: one scan, no sort.
            var u = Double(rng.next() >> 11) * 0x1.0p-53 * total
            var chosen = n - 1
            for i in 0..<n {
                u -= Double(logits[i])
                if u < 0 { chosen = i; break }
            }
            while logits[chosen] == 0 && chosen > 0 { chosen -= 1 }   // rounding at the very end
            return (chosen, chosenLogProb(chosen))
        }
        // Candidates: the smallest set holding the top-k / top-p nucleus. Only tokens
        // with probability ≥ threshold are sorted; the threshold is lowered until the
        // mass above it covers top-p, so the nucleus is exact.
        var threshold = Float(1.0 / 1024.0)   // relative to the max (which is 1)
        var candidates: [(Float, Int)] = []
        while true {
            candidates.removeAll(keepingCapacity: true)
            var mass = 0.0
            for i in 0..<n where logits[i] >= threshold { candidates.append((logits[i], i)); mass += Double(logits[i]) }
            let enoughK = p.topK > 0 && candidates.count >= p.topK
            if mass >= p.topP * total || enoughK || threshold == 0 { break }
            threshold = threshold < 1e-30 ? 0 : threshold / 64
        }
        candidates.sort { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        if p.topK > 0 && candidates.count > p.topK { candidates.removeLast(candidates.count - p.topK) }
        var keep = candidates.count
        if p.topP < 1 {
            var cum = 0.0
            for (j, c) in candidates.enumerated() {
                cum += Double(c.0)
                if cum >= p.topP * total { keep = j + 1; break }
            }
        }
        var kept = 0.0
        for j in 0..<keep { kept += Double(candidates[j].0) }
        var u = Double(rng.next() >> 11) * 0x1.0p-53 * kept
        var chosen = candidates[keep - 1].1
        for j in 0..<keep {
            u -= Double(candidates[j].0)
            if u < 0 { chosen = candidates[j].1; break }
        }
        return (chosen, chosenLogProb(chosen))
    }
}
