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

/// Buffers the sampler reuses from token to token: after the first call for a given
/// vocabulary size, sampling allocates nothing. One per thread of sampling.
public struct SamplerWorkspace {
    var maxes: [Float] = []
    var scaledSums: [Double] = []
    var plainSums: [Double] = []
    /// [chunks] exp((max of the chunk − max of the row) / T).
    var factors: [Double] = []
    var candidateIDs: [Int32] = []
    var pairs: [(Float, Int)] = []
    /// The penalised tokens of the current call (created on first use, and again when a
    /// copy of the workspace shares it: copies never write each other's buffers).
    var penalty: RepetitionPenalty?
    /// [vocab] the pass's exponentials, kept for plain sampling of small vocabularies (the
    /// draw walks one chunk of them instead of computing them again); replaced like `penalty`.
    var exps: FloatBuffer?
    /// The C draw's buffers (FusedSampler); replaced like `penalty`.
    var fused: FusedSamplerSpace?
    /// Calls that needed the second vocabulary pass (a nucleus wider than the candidates).
    public internal(set) var fallbacks = 0

    /// Most candidates kept by the single pass; a wider nucleus falls back to a second pass.
    static let capacity = 4096

    public init() {}

    /// The pass's negligible-term cut for rows of `cutCount` logits (a libm log, once per size).
    private(set) var cut: Float = 0
    private var cutCount = 0

    mutating func prepare(vocabulary n: Int) {
        if n != cutCount {
            cut = SamplingStats.negligibleCut(count: n)
            cutCount = n
        }
        let chunks = SamplingStats.chunkCount(n)
        if maxes.count < chunks {
            maxes = [Float](repeating: 0, count: chunks)
            scaledSums = [Double](repeating: 0, count: chunks)
            plainSums = [Double](repeating: 0, count: chunks)
            factors = [Double](repeating: 0, count: chunks)
        }
        if candidateIDs.count < Self.capacity { candidateIDs = [Int32](repeating: 0, count: Self.capacity) }
        if pairs.capacity < Self.capacity { pairs.reserveCapacity(Self.capacity) }
        penalty?.reset()
        pairs.removeAll(keepingCapacity: true)
    }
}

/// Sampling settings turned once (per extend, not per token) into what the C draw takes:
/// `Sampler.sample(_:settings:...)` then goes straight to it for every row of `vocabulary`.
public struct DrawSettings: Sendable {
    public let parameters: SamplingParameters
    /// FusedSampler draws rows of this length with these settings.
    let fused: Bool
    let penalty: Float, invT: Float, window: Float
    /// Whether the history is penalised (penalty ≠ 1).
    let penalises: Bool

    public init(_ p: SamplingParameters, vocabulary n: Int) {
        parameters = p
        fused = p.temperature > 0 && FusedSampler.takes(count: n, nucleus: p.topP < 1 || p.topK > 0)
        let temperature = Float(p.temperature)
        penalty = Float(p.repetitionPenalty)
        invT = 1 / temperature
        window = Sampler.nucleusWindow(temperature)
        penalises = p.repetitionPenalty != 1
    }
}

public enum Sampler {
    /// As `sample(_:parameters:previous:rng:workspace:)` with the engine's generator, the
    /// settings prepared once (`DrawSettings`): the same token, log-probability and generator
    /// state, without the per-call checks and conversions before the C draw.
    public static func sample(_ logits: UnsafeMutableBufferPointer<Float>, settings d: DrawSettings, previous: [Int],
                              rng: inout SplitMix64, workspace w: inout SamplerWorkspace) -> (token: Int, logProb: Double) {
        if d.fused, !logits.isEmpty, let drawn = fusedSample(logits, settings: d, previous: previous, rng: &rng, workspace: &w) {
            return drawn
        }
        return swiftSample(logits, parameters: d.parameters, previous: previous, rng: &rng, workspace: &w)
    }

    /// The C draw (`FusedSampler`) for settings it takes, or nil when it declines (a nucleus
    /// wider than its candidates): the row and generator are then untouched.
    private static func fusedSample(_ logits: UnsafeMutableBufferPointer<Float>, settings d: DrawSettings, previous: [Int],
                                    rng: inout SplitMix64, workspace w: inout SamplerWorkspace) -> (token: Int, logProb: Double)? {
        if !isKnownUniquelyReferenced(&w.fused) { w.fused = FusedSamplerSpace() }
        let space = w.fused!
        // Through a pointer: a copy of `previous` would count a reference on the array
        // (a write to its header, a line the thread recording tokens also writes).
        return previous.withUnsafeBufferPointer { history in
            FusedSampler.sample(logits, previous: d.penalises ? history : UnsafeBufferPointer(start: nil, count: 0),
                                penalty: d.penalty, invT: d.invT, window: d.window, topP: d.parameters.topP,
                                topK: d.parameters.topK, rng: &rng, space: space)
        }
    }

    /// Draws a token from `logits` and returns it with its log-probability under the model
    /// (log-softmax of the unmodified logits).
    /// Convenience form with a temporary workspace (allocates); hot loops keep one.
    public static func sample<G: RandomNumberGenerator>(
        _ logits: UnsafeMutableBufferPointer<Float>, parameters p: SamplingParameters,
        previous: [Int], rng: inout G
    ) -> (token: Int, logProb: Double) {
        var workspace = SamplerWorkspace()
        return sample(logits, parameters: p, previous: previous, rng: &rng, workspace: &workspace)
    }

    /// As above, reusing `workspace`, and leaving `logits` as it was (penalised entries are
    /// restored), so callers need not copy the row first. The vocabulary is read from memory once: one fused
    /// pass (Kernels.SamplingStats) yields per-chunk maxima and exponential sums (for the
    /// model's log-normaliser and the tempered one) and the top-p candidates near the max;
    /// the draw then walks chunk sums and one chunk. A nucleus wider than the candidates
    /// (flat distributions, rare) takes a second pass.
    /// `previous` is concrete and the engine's generator has an exported specialisation:
    /// called across modules, the generic form iterated `previous` and drew through
    /// witness tables, which made sampling most of a small model's search time.
    @_specialize(exported: true, where G == SplitMix64)
    public static func sample<G: RandomNumberGenerator>(
        _ logits: UnsafeMutableBufferPointer<Float>, parameters p: SamplingParameters,
        previous: [Int], rng: inout G, workspace w: inout SamplerWorkspace
    ) -> (token: Int, logProb: Double) {
        // The common cases in one C call (FusedSampler: the same numbers, a fraction of the
        // code to bring back into cache after each forward). It needs the engine's generator
        // (its state goes to C) and leaves wide nuclei to the Swift path.
        if G.self == SplitMix64.self, !logits.isEmpty {
            let d = DrawSettings(p, vocabulary: logits.count)
            if d.fused, let drawn = withUnsafeMutablePointer(to: &rng, { g in
                g.withMemoryRebound(to: SplitMix64.self, capacity: 1) { s in
                    fusedSample(logits, settings: d, previous: previous, rng: &s.pointee, workspace: &w)
                }
            }) {
                return drawn
            }
        }
        return swiftSample(logits, parameters: p, previous: previous, rng: &rng, workspace: &w)
    }

    /// The Swift path: the penalty, the one-pass statistics (`SamplingStats`), the
    /// normalisers and the draw, plain, nucleus or greedy.
    private static func swiftSample<G: RandomNumberGenerator>(
        _ logits: UnsafeMutableBufferPointer<Float>, parameters p: SamplingParameters,
        previous: [Int], rng: inout G, workspace w: inout SamplerWorkspace
    ) -> (token: Int, logProb: Double) {
        let n = logits.count
        guard let base = logits.baseAddress, n > 0 else { return (0, 0) }
        w.prepare(vocabulary: n)
        var penalised: RepetitionPenalty? = nil
        if p.repetitionPenalty != 1 && !previous.isEmpty {
            if !isKnownUniquelyReferenced(&w.penalty) { w.penalty = RepetitionPenalty() }
            penalised = w.penalty
            penalised?.apply(logits, previous: previous, penalty: Float(p.repetitionPenalty))
        }
        defer { penalised?.restore(logits) }
        let greedy = p.temperature <= 0
        let temperature = greedy ? 1 : Float(p.temperature)
        let invT = 1 / temperature
        let nucleus = !greedy && (p.topP < 1 || p.topK > 0)
        let window = nucleusWindow(temperature)
        let chunks = SamplingStats.chunkCount(n)
        let cut = w.cut
        // Storing costs a write per entry: worth it only while the row is small next to
        // the chunk the draw walks.
        let storeExps = !greedy && !nucleus && n <= 4096
        if storeExps && ((w.exps?.count ?? 0) < n || !isKnownUniquelyReferenced(&w.exps)) {
            w.exps = FloatBuffer(count: n, zeroed: false)
        }
        let exps = storeExps ? w.exps?.pointer : nil
        let found = w.maxes.withUnsafeMutableBufferPointer { maxes in
            w.scaledSums.withUnsafeMutableBufferPointer { sT in
                w.plainSums.withUnsafeMutableBufferPointer { s1 in
                    w.candidateIDs.withUnsafeMutableBufferPointer { ids in
                        SamplingStats.parallelPass(UnsafePointer(base), count: n, scale: invT, maxes: maxes.baseAddress!,
                                           scaledSums: sT.baseAddress!, plainSums: invT == 1 ? nil : s1.baseAddress!,
                                           window: window, candidates: nucleus ? ids.baseAddress! : nil,
                                           capacity: SamplerWorkspace.capacity, exps: exps, cut: cut)
                    }
                }
            }
        }
        // Normalisers around the global max M of the (penalised) logits, in Double.
        var maxL = -Float.infinity
        for j in 0..<chunks { maxL = max(maxL, w.maxes[j]) }
        var totalT = 0.0, total1 = 0.0
        for j in 0..<chunks {
            // exp(0) is 1 exactly, and at T = 1 both factors are one value: computed once.
            // A sum that is 0 (every term of the chunk negligible) adds +0 whatever its factor:
            // no libm call for it (a peaked row's small chunks often have none).
            let d = Double(w.maxes[j] - maxL)
            let factorT = d == 0 ? 1 : w.scaledSums[j] == 0 ? 0 : Foundation.exp(d * Double(invT))
            w.factors[j] = factorT
            totalT += w.scaledSums[j] * factorT
            if invT == 1 { total1 += w.scaledSums[j] * factorT } else if w.plainSums[j] != 0 {
                total1 += w.plainSums[j] * (d == 0 ? 1 : Foundation.exp(d))
            }
        }
        // The model's normaliser is over the raw logits: swap the penalised terms back
        // (eight at a time: a search penalises tens of tokens every draw).
        if let penalised, penalised.count > 0 { total1 += penalised.swapSum(shift: maxL) }
        let logZ = Double(maxL) + Foundation.log(total1)
        func logProb(_ t: Int) -> Double {
            if let raw = penalised?.rawLogit(t) { return Double(raw) - logZ }
            return Double(logits[t]) - logZ
        }
        if greedy {  // first index holding the max, as a linear argmax would find it
            for j in 0..<chunks where w.maxes[j] == maxL {
                for i in j * SamplingStats.chunk..<min((j + 1) * SamplingStats.chunk, n) where logits[i] == maxL {
                    return (i, logProb(i))
                }
            }
            return (0, logProb(0))
        }
        if !nucleus {
            // Plain sampling: find the chunk holding the draw, then the token inside it.
            var u = Double(rng.next() >> 11) * 0x1.0p-53 * totalT
            for j in 0..<chunks {
                let factor = w.factors[j]   // exp((maxes[j] − maxL)/T), from the totals above
                let mass = w.scaledSums[j] * factor
                if u >= mass && j < chunks - 1 { u -= mass; continue }
                let lo = j * SamplingStats.chunk, hi = min(lo + SamplingStats.chunk, n)
                if let t = SamplingStats.walk(UnsafePointer(base), start: lo, end: hi, shift: w.maxes[j],
                                              scale: invT, factor: factor, target: u, stored: exps.map { UnsafePointer($0) },
                                              cut: cut) {
                    return (t, logProb(t))
                }
                // Rounding at the chunk's end: its last token with any mass.
                var t = hi - 1
                while t > lo && (logits[t] - maxL) * invT < -87 { t -= 1 }
                return (t, logProb(t))
            }
        }
        // Nucleus: candidates within the window of the final max, by probability.
        if found >= 0 {
            let threshold = maxL - window
            var mass = 0.0
            for c in 0..<found {
                let t = Int(w.candidateIDs[c])
                let l = logits[t]
                guard l >= threshold else { continue }
                let e = l == maxL ? 1 : Float(Foundation.exp(Double((l - maxL) * invT)))   // exp(0) = 1 exactly
                w.pairs.append((e, t))
                mass += Double(e)
            }
            let enoughK = p.topK > 0 && w.pairs.count >= p.topK
            if mass >= p.topP * totalT || enoughK {
                let t = drawNucleus(&w, parameters: p, total: totalT, rng: &rng)
                return (t, logProb(t))
            }
            w.pairs.removeAll(keepingCapacity: true)
        }
        // Second pass (wide nucleus): lower the threshold until the mass covers top-p.
        w.fallbacks += 1
        var threshold = Float(1.0 / 1024.0)
        while true {
            w.pairs.removeAll(keepingCapacity: true)
            var mass = 0.0
            for i in 0..<n {
                let e = Float(Foundation.exp(Double((logits[i] - maxL) * invT)))
                if e >= threshold { w.pairs.append((e, i)); mass += Double(e) }
            }
            let enoughK = p.topK > 0 && w.pairs.count >= p.topK
            if mass >= p.topP * totalT || enoughK || threshold == 0 { break }
            threshold = threshold < 1e-30 ? 0 : threshold / 64
        }
        let t = drawNucleus(&w, parameters: p, total: totalT, rng: &rng)
        return (t, logProb(t))
    }

    /// How far below the max a logit may lie and still be a first nucleus candidate: tokens
    /// with e = exp((l − max)/T) ≥ 1/1024.
    @inline(__always)
    static func nucleusWindow(_ temperature: Float) -> Float { temperature * log1024 }
    private static let log1024 = Float(Foundation.log(1024.0))

    /// Sorts the candidates in `w.pairs` (probability, id) by probability, cuts top-k and
    /// top-p, and draws one in proportion to its probability.
    private static func drawNucleus<G: RandomNumberGenerator>(
        _ w: inout SamplerWorkspace, parameters p: SamplingParameters, total: Double, rng: inout G
    ) -> Int {
        w.pairs.sort { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        var keep = w.pairs.count
        if p.topK > 0 && keep > p.topK { keep = p.topK }
        if p.topP < 1 {
            var cum = 0.0
            for j in 0..<keep {
                cum += Double(w.pairs[j].0)
                if cum >= p.topP * total { keep = j + 1; break }
            }
        }
        var kept = 0.0
        for j in 0..<keep { kept += Double(w.pairs[j].0) }
        var u = Double(rng.next() >> 11) * 0x1.0p-53 * kept
        var chosen = w.pairs[keep - 1].1
        for j in 0..<keep {
            u -= Double(w.pairs[j].0)
            if u < 0 { chosen = w.pairs[j].1; break }
        }
        return chosen
    }
}
