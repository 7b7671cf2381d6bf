import CKernels
/// The repetition penalty (HF semantics: a positive logit is divided by the penalty, a
/// negative one multiplied) applied in place to a logits row and remembered, so that the
/// row can be restored after the draw and the model's own normaliser recovered from the
/// penalised one. Buffers grow to the largest vocabulary and history seen, then are
/// reused; one per sampling thread (not thread-safe).
public final class RepetitionPenalty {
    private var stamps = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)  // [vocabCapacity]: == stamp → penalised in this call
    private var vocabCapacity = 0
    private var stamp: UInt32 = 0
    private var ids = UnsafeMutablePointer<Int>.allocate(capacity: 8)        // [capacity] penalised ids, in order
    private var raw = UnsafeMutablePointer<Float>.allocate(capacity: 8)      // [capacity] their raw logits, then −∞ to a multiple of 8
    private var lowered = UnsafeMutablePointer<Float>.allocate(capacity: 8)  // [capacity] their penalised logits, padded likewise
    private var capacity = 8
    /// Tokens penalised by the last `apply` (0 after `reset`).
    public private(set) var count = 0

    public init() {}

    deinit {
        stamps.deallocate()
        ids.deallocate()
        raw.deallocate()
        lowered.deallocate()
    }

    /// Forgets the last call's tokens (nothing is penalised).
    public func reset() { count = 0 }

    /// Penalises logits[t] once for each distinct t of `previous` inside the row, in order
    /// of first occurrence (the order `swapSum` adds their terms in).
    public func apply(_ logits: UnsafeMutableBufferPointer<Float>, previous: [Int], penalty: Float) {
        let n = logits.count
        guard let row = logits.baseAddress else { count = 0; return }
        if n > vocabCapacity {
            stamps.deallocate()
            stamps = .allocate(capacity: n)
            stamps.initialize(repeating: 0, count: n)
            vocabCapacity = n
            stamp = 0
        }
        let needed = (previous.count + 7) / 8 * 8 + 8
        if needed > capacity {
            ids.deallocate()
            raw.deallocate()
            lowered.deallocate()
            ids = .allocate(capacity: needed)
            raw = .allocate(capacity: needed)
            lowered = .allocate(capacity: needed)
            capacity = needed
        }
        stamp &+= 1
        if stamp == 0 {  // wrapped: old stamps could collide
            stamps.update(repeating: 0, count: vocabCapacity)
            stamp = 1
        }
        var k = 0
        previous.withUnsafeBufferPointer { prev in
            guard let base = prev.baseAddress else { return }
            // C: a blend on the sign bit (LLVM compiled Swift's bitwise select back into a
            // branch on the sign).
            base.withMemoryRebound(to: Int64.self, capacity: prev.count) { p in
                ids.withMemoryRebound(to: Int64.self, capacity: capacity) { out in
                    k = Int(ck_penalize(row, Int64(n), p, Int64(prev.count), penalty, stamps, stamp, out, raw, lowered))
                }
            }
        }
        count = k
        let padded = (k + 7) / 8 * 8
        while k < padded {
            raw[k] = -.infinity
            lowered[k] = -.infinity
            k += 1
        }
    }

    /// Puts the raw logits back into the row `apply` penalised.
    public func restore(_ logits: UnsafeMutableBufferPointer<Float>) {
        guard let row = logits.baseAddress else { return }
        for k in 0..<count { row[ids[k]] = raw[k] }
    }

    /// The raw logit of `t` when the last `apply` penalised it.
    public func rawLogit(_ t: Int) -> Float? {
        guard count > 0, t >= 0, t < vocabCapacity, stamps[t] == stamp else { return nil }
        for k in 0..<count where ids[k] == t { return raw[k] }
        return nil
    }

    /// Σ exp(raw − shift) − exp(penalised − shift) over the penalised tokens: what swapping
    /// their raw logits back adds to a sum of exponentials around `shift`.
    public func swapSum(shift: Float) -> Double {
        SamplingStats.swapSum(raw: raw, lowered: lowered, count: (count + 7) / 8 * 8, shift: shift)
    }
}
