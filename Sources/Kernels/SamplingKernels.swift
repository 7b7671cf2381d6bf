import Foundation
import CKernels

/// Single-pass vocabulary statistics for the sampler (issue 6: everything outside the model
/// forward must stay small). The logits row is read from memory once; each chunk of
/// `SamplingStats.chunk` floats (1 KiB, L1-resident) is then scanned a few times.
public enum SamplingStats {
    /// Floats per chunk: a multiple of 8; 256 keeps the chunk walk after the pass short
    /// (n / 256 chunk sums, then at most 256 values of one chunk).
    public static let chunk = 256

    public static func chunkCount(_ n: Int) -> Int { (n + chunk - 1) / chunk }

    /// For every chunk j of x[0..<count]:
    ///   maxes[j]       = max of the chunk,
    ///   scaledSums[j]  = Σ exp((x − maxes[j]) · scale),
    ///   plainSums[j]   = Σ exp(x − maxes[j])  (only when `plainSums` is given: scale ≠ 1),
    /// without the negligible terms (below).
    /// And, when `candidates` is given, the ids i with x[i] ≥ (max of x[0...i's chunk]) − window,
    /// in index order: a superset of the ids within `window` of the final max. Returns the
    /// number of candidates, or −1 when more than `capacity` qualified (the caller falls back).
    /// `exps` (optional, [count]): receives exp((x − maxes[j]) · scale) of every entry (0 in
    /// negligible groups), the terms `walk(stored:)` then reuses. A chunk's last count % 8
    /// entries are one vector with the missing lanes zeroed, so every term is the same f32
    /// function of x.
    /// Negligible terms: an 8-entry group of a chunk (entries start + 8g ..< start + 8g + 8)
    /// whose exponents ((x − maxes[j]) · scale, or x − maxes[j] for the plain sum) are all
    /// below −`cut` contributes exact zeros, and its polynomials are not evaluated. A peaked
    /// row is mostly such groups: the default model's rows skip 9 in 10 tempered and 2 in 3
    /// plain groups. With `negligibleCut(count:)` the row's sums lose at most 2⁻²⁴ of
    /// themselves, one f32 rounding.
    public static func pass(_ x: UnsafePointer<Float>, count: Int, scale: Float,
                            maxes: UnsafeMutablePointer<Float>, scaledSums: UnsafeMutablePointer<Double>,
                            plainSums: UnsafeMutablePointer<Double>?,
                            window: Float, candidates: UnsafeMutablePointer<Int32>?, capacity: Int,
                            exps: UnsafeMutablePointer<Float>? = nil, cut: Float) -> Int {
        if useWidePass {
            return Int(ck_sampling_pass(x, Int32(count), scale, maxes, scaledSums, plainSums, window, candidates,
                                        Int32(capacity), exps, cut))
        }
        return swiftPass(x, count: count, scale: scale, maxes: maxes, scaledSums: scaledSums, plainSums: plainSums,
                         window: window, candidates: candidates, capacity: capacity, exps: exps, cut: cut)
    }

    /// The exponent below which a term of a `count`-entry row is dropped: `count` terms of
    /// e^−cut (each relative to its chunk's largest term, 1, and a row's sum is at least 1)
    /// add up to 2⁻²⁴, half an f32 ulp of 1. ln(count) + 24 ln 2: 22.2 for 263 entries,
    /// 27.4 for 49 152, 28.5 for 151 936.
    public static func negligibleCut(count: Int) -> Float {
        Float(Foundation.log(Double(Swift.max(count, 1))) + 24 * Foundation.log(2.0))
    }

    /// `pass` in C with 16-lane exponentials on AVX-512 CPUs (`ck_sampling_pass`: the same
    /// bits; SmolLM2 searches spent 67–83 instead of 94–136 µs a token outside the forward);
    /// `SPRIG_SWIFT_SAMPLING=1` keeps this file's loop, which the C one is tested against.
    static let useWidePass = ck_avx512_available() != 0
        && ProcessInfo.processInfo.environment["SPRIG_SWIFT_SAMPLING"] == nil

    /// The pass in Swift (8 lanes; one dependent exponential polynomial at a time).
    static func swiftPass(_ x: UnsafePointer<Float>, count: Int, scale: Float,
                          maxes: UnsafeMutablePointer<Float>, scaledSums: UnsafeMutablePointer<Double>,
                          plainSums: UnsafeMutablePointer<Double>?,
                          window: Float, candidates: UnsafeMutablePointer<Int32>?, capacity: Int,
                          exps: UnsafeMutablePointer<Float>?, cut: Float) -> Int {
        let floor8 = SIMD8<Float>(repeating: -cut)
        let stored = exps.map { UnsafeMutableRawPointer($0) }
        let raw = UnsafeRawPointer(x)
        var running = -Float.infinity
        var found = 0
        var start = 0
        var j = 0
        let k = SIMD8<Float>(repeating: scale)
        while start < count {
            let end = Swift.min(start + chunk, count)
            let vectorEnd = start + (end - start) / 8 * 8
            // 1. chunk max
            var m8 = SIMD8<Float>(repeating: -.infinity)
            var i = start
            while i < vectorEnd {
                m8 = Ops.lanewiseMax(m8, raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
                i += 8
            }
            // Halving tree (max is exact in any order): the library's `max()` is a call that
            // blends lane by lane.
            let m4 = Ops.lanewiseMax(m8.lowHalf, m8.highHalf)
            let m2 = Ops.lanewiseMax(m4.lowHalf, m4.highHalf)
            var m = Swift.max(m2[0], m2[1])
            while i < end { m = Swift.max(m, x[i]); i += 1 }
            maxes[j] = m
            // 2. sums of exponentials around the chunk max: group g (8 entries) into
            //    accumulator g mod 2 (two dependency chains); a negligible group adds nothing.
            let shift = SIMD8<Float>(repeating: m)
            var sT = (SIMD8<Float>(), SIMD8<Float>()), s1 = (SIMD8<Float>(), SIMD8<Float>())
            var odd = false
            i = start
            while i < end {
                let lanes = Swift.min(8, end - i)
                let d = (lanes == 8 ? raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                                    : tail(x, from: i, end: end)) - shift
                let dk = d * k
                var e = SIMD8<Float>()
                if live(dk, floor8) {
                    e = lanes == 8 ? Ops.exp(dk) : expTail(dk, lanes: lanes)
                    if odd { sT.1 += e } else { sT.0 += e }
                }
                if let st = stored {
                    if lanes == 8 { st.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self) } else {
                        for l in 0..<lanes { st.storeBytes(of: e[l], toByteOffset: (i + l) * 4, as: Float.self) }
                    }
                }
                if plainSums != nil && live(d, floor8) {
                    let p = lanes == 8 ? Ops.exp(d) : expTail(d, lanes: lanes)
                    if odd { s1.1 += p } else { s1.0 += p }
                }
                odd.toggle()
                i += lanes
            }
            scaledSums[j] = Double((sT.0 + sT.1).sum())
            plainSums?[j] = Double((s1.0 + s1.1).sum())
            // 3. candidates near the running max (rare: a vector compare skips the rest)
            running = Swift.max(running, m)
            if let out = candidates, found >= 0 {
                let threshold = running - window
                let t8 = SIMD8<Float>(repeating: threshold)
                i = start
                while i < end {
                    if i + 8 <= end {
                        let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                        if !any(v .>= t8) { i += 8; continue }
                    }
                    let stop = Swift.min(i + 8, end)
                    while i < stop {
                        if x[i] >= threshold {
                            if found == capacity { found = -1; break }
                            out[found] = Int32(i)
                            found += 1
                        }
                        i += 1
                    }
                    if found < 0 { break }
                }
            }
            start = end
            j += 1
        }
        return found
    }

    /// `pass` with the row split over the worker pool, one chunk-aligned part per thread:
    /// the per-chunk maxima and sums are the same numbers in the same slots. Candidates
    /// are then gathered once the global max M is known: exactly the ids with
    /// x ≥ M − window, in index order, from the chunks whose max reaches that far (the
    /// subset of one pass's candidates that the sampler keeps, so it draws the same). −1
    /// when more than `capacity` qualify. Short rows run `pass` directly.
    public static func parallelPass(_ x: UnsafePointer<Float>, count: Int, scale: Float,
                                    maxes: UnsafeMutablePointer<Float>, scaledSums: UnsafeMutablePointer<Double>,
                                    plainSums: UnsafeMutablePointer<Double>?,
                                    window: Float, candidates: UnsafeMutablePointer<Int32>?, capacity: Int,
                                    exps: UnsafeMutablePointer<Float>? = nil, cut: Float) -> Int {
        let threads = WorkerPool.shared.threadCount, chunks = chunkCount(count)
        guard threads > 1, count >= 8192 else {
            return pass(x, count: count, scale: scale, maxes: maxes, scaledSums: scaledSums, plainSums: plainSums,
                        window: window, candidates: candidates, capacity: capacity, exps: exps, cut: cut)
        }
        let partChunks = (chunks + threads - 1) / threads
        WorkerPool.shared.parallelFor(count: threads) { lo, hi in
            for part in lo..<hi {
                let c0 = min(chunks, part * partChunks), c1 = min(chunks, c0 + partChunks)
                let start = c0 * chunk, end = min(count, c1 * chunk)
                guard start < end else { continue }
                _ = pass(x + start, count: end - start, scale: scale, maxes: maxes + c0, scaledSums: scaledSums + c0,
                         plainSums: plainSums.map { $0 + c0 }, window: window, candidates: nil, capacity: 0,
                         exps: exps.map { $0 + start }, cut: cut)
            }
        }
        guard let out = candidates else { return 0 }
        var top = -Float.infinity
        for j in 0..<chunks { top = Swift.max(top, maxes[j]) }
        let threshold = top - window
        var found = 0
        for j in 0..<chunks where maxes[j] >= threshold {
            for i in j * chunk..<Swift.min(count, j * chunk + chunk) where x[i] >= threshold {
                if found == capacity { return -1 }
                out[found] = Int32(i)
                found += 1
            }
        }
        return found
    }

    /// Whether any lane of the exponents `v` reaches `floor` (−cut): a group with none
    /// contributes zeros (NaN lanes do not reach it).
    @inline(__always)
    static func live(_ v: SIMD8<Float>, _ floor: SIMD8<Float>) -> Bool { any(v .>= floor) }

    /// x[from..<end] (fewer than 8 entries) as one vector; the missing lanes are −∞.
    @inline(__always)
    static func tail(_ x: UnsafePointer<Float>, from i: Int, end: Int) -> SIMD8<Float> {
        var v = SIMD8<Float>(repeating: -.infinity)
        for l in 0..<end - i { v[l] = x[i + l] }
        return v
    }

    /// exp of the first `lanes` lanes, 0 in the others (Ops.exp clamps −∞ to a tiny
    /// positive value, which must not reach a sum).
    @inline(__always)
    static func expTail(_ v: SIMD8<Float>, lanes: Int) -> SIMD8<Float> {
        Ops.exp(v) * UnsafeRawPointer(laneMask + 8 - lanes).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// [1 × 8, 0 × 8]: the 8 floats from `laneMask + 8 − k` are 1 in the first k lanes, 0
    /// after (a multiply: the generic mask operations are not inlined; and a plain buffer,
    /// because the first [SIMD8<Float>] array of a process costs ~1 ms of runtime
    /// conformance lookups, a tenth of a short search).
    nonisolated(unsafe) static let laneMask: UnsafePointer<Float> = {   // written once, then only read
        let p = UnsafeMutablePointer<Float>.allocate(capacity: 16)
        for i in 0..<16 { p[i] = i < 8 ? 1 : 0 }
        return UnsafePointer(p)
    }()

    /// Σ exp(raw[i] − shift) − exp(lowered[i] − shift): what swapping `lowered` values back
    /// to `raw` ones adds to a sum of exponentials around `shift` (the sampler's repetition
    /// penalty, undone for the model's own normaliser). Eight terms at a time in f32
    /// (relative error < 2e-7 per term), summed in f64.
    public static func swapSum(raw: UnsafePointer<Float>, lowered: UnsafePointer<Float>, count: Int, shift: Float) -> Double {
        ck_swap_sum(raw, lowered, Int32(count), shift)   // C: LLVM split this loop's vectors (see the kernel)
    }

    /// Walks x[start..<end], subtracting exp((x − shift) · scale) · factor from `target`, and
    /// returns the first index where it drops below 0 (nil when it never does: rounding).
    /// `stored`: the row's `exps` from `pass` with this chunk's shift and scale (the same
    /// values, read instead of computed again). `cut`: the pass's (the same groups are zero).
    public static func walk(_ x: UnsafePointer<Float>, start: Int, end: Int, shift: Float, scale: Float,
                            factor: Double, target: Double, stored: UnsafePointer<Float>? = nil, cut: Float) -> Int? {
        var u = target
        var i = start
        let raw = UnsafeRawPointer(x)
        let s = SIMD8<Float>(repeating: shift), k = SIMD8<Float>(repeating: scale)
        let floor8 = SIMD8<Float>(repeating: -cut)
        while i < end {
            let lanes = Swift.min(8, end - i)
            var e: SIMD8<Float>
            if let st = stored {
                if lanes == 8 { e = UnsafeRawPointer(st).loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) } else {
                    e = SIMD8()
                    for l in 0..<lanes { e[l] = st[i + l] }
                }
            } else if lanes == 8 {
                let dk = (raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - s) * k
                e = live(dk, floor8) ? Ops.exp(dk) : SIMD8()
            } else {
                let dk = (tail(x, from: i, end: end) - s) * k
                e = live(dk, floor8) ? expTail(dk, lanes: lanes) : SIMD8()
            }
            let blockSum = Double(e.sum()) * factor
            if u - blockSum >= 0 { u -= blockSum; i += 8; continue }
            for l in 0..<lanes {
                u -= Double(e[l]) * factor
                if u < 0 { return i + l }
            }
            return i + lanes - 1  // the lane sums rounded differently from the block sum
        }
        return nil
    }
}
