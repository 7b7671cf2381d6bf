import CKernels
import Foundation

/// The sampler's common cases in one C call (`ck_fused_sample`): a tempered draw, plain or
/// nucleus (top-p, top-k), with the repetition penalty, from a row short enough for one
/// thread's pass. It gives the same token, log-probability and generator state as the
/// Swift path (`Sampler.sample`), bit for bit. What it saves is mostly code: a draw after a
/// forward (which streams the weights through L2) ran cold through a dozen Swift functions,
/// runtime calls and per-call buffer checks.
public enum FusedSampler {
    /// Longest row for a nucleus draw: from 8192 logits the pass is split over the worker pool.
    public static let maxNucleusVocabulary = 8191
    /// Longest row for a plain draw: the Swift path stores the pass's exponentials up to here.
    public static let maxPlainVocabulary = 4096

    /// Whether this CPU runs it (the pass inside is `ck_sampling_pass`, AVX-512);
    /// `SPRIG_SWIFT_SAMPLING=1` turns it off with that pass.
    public static var available: Bool { SamplingStats.useWidePass }

    /// Whether a row of `n` logits drawn plain (`nucleus` false) or from a nucleus fits.
    public static func takes(count n: Int, nucleus: Bool) -> Bool {
        available && n > 0 && n <= (nucleus ? maxNucleusVocabulary : maxPlainVocabulary)
    }

    /// Draws from `row` (penalised in place and restored), or nil when the nucleus is wider
    /// than the space's candidates or than the candidates found near the max: the caller's
    /// second pass then starts from an untouched row and generator.
    /// - Parameters:
    ///   - previous: the penalised history (each distinct id once, first occurrences first);
    ///     empty for no penalty.
    ///   - invT, window: 1 / temperature and the nucleus candidates' window, as the Swift
    ///     path computes them.
    ///   - topP, topK: a nucleus when topP < 1 or topK > 0; else a plain draw.
    public static func sample(_ row: UnsafeMutableBufferPointer<Float>, previous: UnsafeBufferPointer<Int>, penalty: Float,
                              invT: Float, window: Float, topP: Double, topK: Int,
                              rng: inout SplitMix64, space: FusedSamplerSpace) -> (token: Int, logProb: Double)? {
        let n = row.count
        precondition(takes(count: n, nucleus: topP < 1 || topK > 0), "FusedSampler: row of \(n) logits")
        space.prepare(vocabulary: n)
        if !previous.isEmpty { space.nextStamp() }
        var logProb = 0.0
        let token = previous.withMemoryRebound(to: Int64.self) { p in
            withUnsafePointer(to: &space.buffers) { w in
                ck_fused_sample(row.baseAddress!, Int32(n), p.baseAddress, Int64(p.count), penalty, invT, window,
                                space.cut, topP, Int32(clamping: topK), &rng.state, w, &logProb)
            }
        }
        return token < 0 ? nil : (Int(token), logProb)
    }
}

/// `FusedSampler`'s buffers, sized for the row length last seen (one per sampling thread).
public final class FusedSamplerSpace {
    /// Candidates kept near the max: a wider nucleus is left to the Swift path (the C
    /// insertion sort is quadratic).
    public static let capacity = 256
    private var vocabulary = 0
    /// The pass's negligible-term cut for rows of `vocabulary` (`SamplingStats.negligibleCut`).
    private(set) var cut: Float = 0
    var buffers = ck_fused_space()

    public init() {}

    deinit { release() }

    func prepare(vocabulary n: Int) {
        guard n != vocabulary else { return }
        release()
        let chunks = SamplingStats.chunkCount(n)
        buffers.stamps = .allocate(capacity: n)
        buffers.stamps.initialize(repeating: 0, count: n)
        buffers.stamp = 0
        buffers.ids = .allocate(capacity: n + 8)
        buffers.raw = .allocate(capacity: n + 8)
        buffers.lowered = .allocate(capacity: n + 8)
        buffers.exps = .allocate(capacity: n)
        buffers.candidates = .allocate(capacity: Self.capacity)
        buffers.pair_e = .allocate(capacity: Self.capacity)
        buffers.pair_id = .allocate(capacity: Self.capacity)
        buffers.capacity = Int32(Self.capacity)
        buffers.maxes = .allocate(capacity: chunks)
        buffers.scaled_sums = .allocate(capacity: chunks)
        buffers.plain_sums = .allocate(capacity: chunks)
        buffers.factors = .allocate(capacity: chunks)
        cut = SamplingStats.negligibleCut(count: n)
        vocabulary = n
    }

    /// A new stamp for the next call's penalty (RepetitionPenalty's scheme: the stamps are
    /// cleared only when the counter wraps).
    func nextStamp() {
        buffers.stamp &+= 1
        if buffers.stamp == 0 {
            buffers.stamps.update(repeating: 0, count: vocabulary)
            buffers.stamp = 1
        }
    }

    private func release() {
        guard vocabulary > 0 else { return }
        for p in [buffers.raw, buffers.lowered, buffers.exps, buffers.pair_e, buffers.maxes] { p?.deallocate() }
        for p in [buffers.candidates, buffers.pair_id] { p?.deallocate() }
        buffers.ids.deallocate()
        buffers.stamps.deallocate()
        for p in [buffers.scaled_sums, buffers.plain_sums, buffers.factors] { p?.deallocate() }
        vocabulary = 0
    }
}
