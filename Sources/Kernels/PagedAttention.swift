import CKernels
import Foundation

/// Where one layer's K and V rows of a paged KV cache live, at pointer level.
///
/// Token `p` of a sequence sits in block `blockTable[p / blockSize]`, row `p % blockSize`
/// (in elements: f32, or f16 when `f16`):
///   key row   = keyBase   + block * blockStride + (p % blockSize) * kvHeads * headDim   // [kvHeads * headDim]
///   value row = valueBase + block * blockStride + (p % blockSize) * kvHeads * headDim
/// Kernels knows nothing of PagedKV; PagedKV fills this in from its pool and tables.
public struct PagedKVView {
    public var keyBase: UnsafeRawPointer
    public var valueBase: UnsafeRawPointer
    /// The rows hold f16 elements (only the AVX-512 kernel reads them), else f32.
    public var f16: Bool
    /// Elements between block `b` and block `b + 1`.
    public var blockStride: Int
    /// Block ids of the sequence, in position order; covers at least every attended position.
    public var blockTable: UnsafePointer<Int>
    public var blockSize: Int
    public var kvHeads: Int
    public var headDim: Int

    public init(keyBase: UnsafeRawPointer, valueBase: UnsafeRawPointer, f16: Bool = false, blockStride: Int,
                blockTable: UnsafePointer<Int>, blockSize: Int, kvHeads: Int, headDim: Int) {
        self.keyBase = keyBase
        self.valueBase = valueBase
        self.f16 = f16
        self.blockStride = blockStride
        self.blockTable = blockTable
        self.blockSize = blockSize
        self.kvHeads = kvHeads
        self.headDim = headDim
    }
}

/// Causal multi-head attention with GQA over a paged cache, for the new positions
/// [start, start + queryCount). Query i attends to positions [0, start + i].
///
/// q, out: [queryCount, heads, headDim]; scale = 1/sqrt(headDim); kv head of head h = h / (heads / kvHeads).
/// K/V rows are read in place, block by block, once per kv head per query: the heads that share
/// a kv head are processed together with an online (running-max) softmax, so no score buffer
/// over the whole prefix is needed and no contiguous copy of the prefix is made.
public func pagedAttention(view: PagedKVView, start: Int, queryCount: Int, heads: Int,
                           q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
    precondition(start >= 0 && queryCount >= 0 && heads > 0 && view.kvHeads > 0 && view.headDim > 0)
    precondition(heads % view.kvHeads == 0, "heads must be a multiple of kvHeads")
    let group = heads / view.kvHeads
    if AttentionKernel.avx512(headDim: view.headDim) && heads <= Int(CK_ATTENTION_MAX_HEADS) {
        attendAVX512(view: view, start: start, queryCount: queryCount, heads: heads, q: q, out: out)
        return
    }
    precondition(!view.f16, "an f16 KV cache needs the AVX-512 attention kernel")
    // [group, chunkRows] scores of one chunk, then [group] running max, then [group] running sum.
    withUnsafeTemporaryAllocation(of: Float.self, capacity: group * (chunkRows + 2)) { buffer in
        withUnsafeTemporaryAllocation(of: Int.self, capacity: chunkRows) { offsetBuffer in
            guard let temp = buffer.baseAddress, let offsets = offsetBuffer.baseAddress else { return }
            for i in 0..<queryCount {
                for g in 0..<view.kvHeads {
                    let first = i * heads + g * group  // first head row of this group in q and out
                    attendGroup(view: view, kvHead: g, group: group, attended: start + i + 1,
                                q: q + first * view.headDim, out: out + first * view.headDim, temp: temp,
                                offsets: offsets)
                }
            }
        }
    }
}

/// Which attention kernel runs: the AVX-512 C kernel (CKernels/ckernels_attention.c) where the
/// CPU has it and the head size is one it handles, else the AVX2 Swift kernel below.
public enum AttentionKernel {
    /// Head sizes 32, 64, 128 all need the same CPU features: one cpuid check.
    private static let cpu = ck_attention_supported(64) != 0

    /// false keeps the Swift kernel everywhere: set from SPRIG_SWIFT_ATTENTION=1 (A/B
    /// measurements) or by tests that check both kernels; set it before any forward runs.
    nonisolated(unsafe) public static var allowAVX512 = ProcessInfo.processInfo.environment["SPRIG_SWIFT_ATTENTION"] == nil

    @inline(__always)
    public static func avx512(headDim: Int) -> Bool {
        allowAVX512 && cpu && (headDim == 32 || headDim == 64 || headDim == 128)
    }

    /// Whether every attention call of a model with these heads runs the AVX-512 kernel:
    /// the condition for an f16 KV cache, which only that kernel reads.
    public static func readsHalves(headDim: Int, heads: Int) -> Bool {
        avx512(headDim: headDim) && heads <= Int(CK_ATTENTION_MAX_HEADS)
    }
}

/// The AVX-512 path: one ck_attend_group call per query, every head; the row pointers are
/// built once per call for all kv heads. scratch: row pointers and scores for the longest query.
private func attendAVX512(view: PagedKVView, start: Int, queryCount: Int, heads: Int,
                          q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
    let d = view.headDim
    withUnsafeTemporaryAllocation(byteCount: ck_attention_scratch_bytes(Int32(start + queryCount)), alignment: 64) { scratch in
        view.blockTable.withMemoryRebound(to: Int64.self, capacity: 1) { table in
            for i in 0..<queryCount {
                ck_attend_group(view.keyBase, view.valueBase, view.f16 ? 1 : 0, view.blockStride, table, Int32(view.blockSize),
                                view.kvHeads * d, Int32(start + i + 1), Int32(heads), Int32(view.kvHeads), Int32(d),
                                q + i * heads * d, out + i * heads * d, scratch.baseAddress)
            }
        }
    }
}

/// The partial attention states, over the rows `range` of a paged view (ck_attend_partial),
/// of `perKVHead` query vectors for each kv head in `kvHeads`: the j-th of kv head g at index
/// i = (g − kvHeads.lowerBound) · perKVHead + j of queries, outputs, m, l; outputs[i] =
/// Σ w_r v_r [headDim] unnormalised, m[i] = max score, l[i] = Σ w_r. AVX-512 only
/// (AttentionKernel.avx512).
public func pagedAttentionPartial(view: PagedKVView, kvHeads: Range<Int>, perKVHead: Int, range: Range<Int>,
                                  queries: UnsafePointer<UnsafePointer<Float>?>,
                                  outputs: UnsafePointer<UnsafeMutablePointer<Float>?>,
                                  m: UnsafeMutablePointer<Float>, l: UnsafeMutablePointer<Float>) {
    precondition(AttentionKernel.avx512(headDim: view.headDim) && !range.isEmpty && range.lowerBound >= 0
                 && kvHeads.lowerBound >= 0 && kvHeads.upperBound <= view.kvHeads)
    withUnsafeTemporaryAllocation(byteCount: ck_attention_scratch_bytes(Int32(range.count)), alignment: 64) { scratch in
        view.blockTable.withMemoryRebound(to: Int64.self, capacity: 1) { table in
            ck_attend_partial(view.keyBase, view.valueBase, view.f16 ? 1 : 0, view.blockStride, table, Int32(view.blockSize),
                              view.kvHeads * view.headDim, Int32(range.lowerBound), Int32(range.upperBound),
                              Int32(kvHeads.lowerBound), Int32(kvHeads.count), Int32(perKVHead), Int32(view.headDim),
                              queries, outputs, m, l, scratch.baseAddress)
        }
    }
}

/// Positions per score chunk (a block is split into chunks when blockSize is larger,
/// and a chunk spans several blocks when blockSize is smaller).
private let chunkRows = 32

/// The `group` heads sharing kv head `kvHead`, attending to positions [0, attended).
/// q, out: [group, headDim]; temp: [group * (chunkRows + 2)]; offsets: [chunkRows].
/// A chunk is up to chunkRows consecutive positions, possibly spanning several small blocks:
/// the float offset of each of its rows (same for K and V) is looked up once per chunk, so
/// the softmax rescale and the output loads/stores run once per chunk whatever the block
/// size (small blocks waste less KV memory in a tree: Experiments/paged-cache).
@inline(__always)
private func attendGroup(view: PagedKVView, kvHead: Int, group: Int, attended: Int,
                         q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                         temp: UnsafeMutablePointer<Float>, offsets: UnsafeMutablePointer<Int>) {
    let headDim = view.headDim
    let rowFloats = view.kvHeads * headDim
    let keys = view.keyBase.assumingMemoryBound(to: Float.self)      // f32 rows (checked by the caller)
    let values = view.valueBase.assumingMemoryBound(to: Float.self)
    let scale = 1 / Float(headDim).squareRoot()
    let scores = temp                          // [group, chunkRows]
    let runningMax = temp + group * chunkRows  // [group]
    let runningSum = runningMax + group        // [group]
    out.update(repeating: 0, count: group * headDim)
    for h in 0..<group {
        runningMax[h] = -.infinity
        runningSum[h] = 0
    }

    var p = 0
    while p < attended {
        let rows = min(chunkRows, attended - p)
        var r = 0
        while r < rows {  // one block segment at a time
            let pos = p + r
            let inBlock = pos % view.blockSize
            let segment = min(view.blockSize - inBlock, rows - r)
            let base = view.blockTable[pos / view.blockSize] * view.blockStride + inBlock * rowFloats + kvHead * headDim
            for j in 0..<segment { offsets[r + j] = base + j * rowFloats }
            r += segment
        }
        for h in 0..<group {
            let qRow = q + h * headDim
            let s = scores + h * chunkRows
            var chunkMax = -Float.infinity
            r = 0
            while r + 4 <= rows {  // four independent FMA chains hide the FMA latency
                let x = dot4(qRow, keys, offsets + r, headDim) * scale
                s[r] = x[0]; s[r + 1] = x[1]; s[r + 2] = x[2]; s[r + 3] = x[3]
                chunkMax = max(chunkMax, x.max())
                r += 4
            }
            while r < rows {
                let x = dot(qRow, keys + offsets[r], headDim) * scale
                s[r] = x
                chunkMax = max(chunkMax, x)
                r += 1
            }
            // Online softmax: rescale what was accumulated under the old max.
            let newMax = max(runningMax[h], chunkMax)
            if newMax > runningMax[h] {
                let correction = expf(runningMax[h] - newMax)  // 0 on the first chunk
                runningSum[h] *= correction
                scaleRow(out + h * headDim, by: correction, count: headDim)
                runningMax[h] = newMax
            }
            runningSum[h] += expShifted(s, count: rows, shift: newMax)
            accumulateRows(out + h * headDim, weights: s, values: values, offsets: offsets, rows: rows,
                           headDim: headDim)
        }
        p += rows
    }
    for h in 0..<group {
        scaleRow(out + h * headDim, by: 1 / runningSum[h], count: headDim)
    }
}

/// s[r] ← exp(s[r] − shift) for r < count (vector exp, 8 lanes at a time); returns Σ.
@inline(__always)
private func expShifted(_ s: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
    let raw = UnsafeMutableRawPointer(s)
    var acc = SIMD8<Float>()
    var r = 0
    while r + 8 <= count {
        let e = Ops.exp(raw.loadUnaligned(fromByteOffset: r * 4, as: SIMD8<Float>.self) - SIMD8(repeating: shift))
        raw.storeBytes(of: e, toByteOffset: r * 4, as: SIMD8<Float>.self)
        acc += e
        r += 8
    }
    var sum = acc.sum()
    while r < count {
        let e = expf(s[r] - shift)
        s[r] = e
        sum += e
        r += 1
    }
    return sum
}

@inline(__always)
private func scaleRow(_ x: UnsafeMutablePointer<Float>, by factor: Float, count: Int) {
    for c in 0..<count { x[c] *= factor }
}

/// (a · base[off[0]...], a · base[off[1]...], a · base[off[2]...], a · base[off[3]...]) over n floats.
@inline(__always)
private func dot4(_ a: UnsafePointer<Float>, _ base: UnsafePointer<Float>, _ off: UnsafePointer<Int>,
                  _ n: Int) -> SIMD4<Float> {
    let ra = UnsafeRawPointer(a)
    let b0 = UnsafeRawPointer(base + off[0]), b1 = UnsafeRawPointer(base + off[1])
    let b2 = UnsafeRawPointer(base + off[2]), b3 = UnsafeRawPointer(base + off[3])
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
    var c = 0
    while c + 8 <= n {
        let o = c * 4
        let x = ra.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
        acc0.addProduct(x, b0.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self))
        acc1.addProduct(x, b1.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self))
        acc2.addProduct(x, b2.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self))
        acc3.addProduct(x, b3.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self))
        c += 8
    }
    var result = SIMD4<Float>(acc0.sum(), acc1.sum(), acc2.sum(), acc3.sum())
    while c < n {
        let x = a[c]
        result += SIMD4<Float>(x * base[off[0] + c], x * base[off[1] + c], x * base[off[2] + c], x * base[off[3] + c])
        c += 1
    }
    return result
}

/// a · b over n floats; SIMD8 with FMA, scalar tail when n is not a multiple of 8.
@inline(__always)
private func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    var c = 0
    while c + 16 <= n {
        let off = c * 4
        acc0.addProduct(ra.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self),
                        rb.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self))
        acc1.addProduct(ra.loadUnaligned(fromByteOffset: off + 32, as: SIMD8<Float>.self),
                        rb.loadUnaligned(fromByteOffset: off + 32, as: SIMD8<Float>.self))
        c += 16
    }
    if c + 8 <= n {
        let off = c * 4
        acc0.addProduct(ra.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self),
                        rb.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self))
        c += 8
    }
    var s = (acc0 + acc1).sum()
    while c < n {
        s += a[c] * b[c]
        c += 1
    }
    return s
}

/// out[0..<headDim] += Σ_r weights[r] * values[offsets[r] ..< offsets[r] + headDim].
/// Columns go 32 at a time so the accumulators stay in registers, then 8, then 1.
@inline(__always)
private func accumulateRows(_ out: UnsafeMutablePointer<Float>, weights: UnsafePointer<Float>,
                            values: UnsafePointer<Float>, offsets: UnsafePointer<Int>, rows: Int, headDim: Int) {
    let rawOut = UnsafeMutableRawPointer(out)
    let rawV = UnsafeRawPointer(values)
    var c = 0
    while c + 32 <= headDim {
        let o = c * 4
        var a0 = rawOut.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
        var a1 = rawOut.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self)
        var a2 = rawOut.loadUnaligned(fromByteOffset: o + 64, as: SIMD8<Float>.self)
        var a3 = rawOut.loadUnaligned(fromByteOffset: o + 96, as: SIMD8<Float>.self)
        for r in 0..<rows {
            let w = SIMD8<Float>(repeating: weights[r])
            let base = offsets[r] * 4 + o
            a0.addProduct(w, rawV.loadUnaligned(fromByteOffset: base, as: SIMD8<Float>.self))
            a1.addProduct(w, rawV.loadUnaligned(fromByteOffset: base + 32, as: SIMD8<Float>.self))
            a2.addProduct(w, rawV.loadUnaligned(fromByteOffset: base + 64, as: SIMD8<Float>.self))
            a3.addProduct(w, rawV.loadUnaligned(fromByteOffset: base + 96, as: SIMD8<Float>.self))
        }
        rawOut.storeBytes(of: a0, toByteOffset: o, as: SIMD8<Float>.self)
        rawOut.storeBytes(of: a1, toByteOffset: o + 32, as: SIMD8<Float>.self)
        rawOut.storeBytes(of: a2, toByteOffset: o + 64, as: SIMD8<Float>.self)
        rawOut.storeBytes(of: a3, toByteOffset: o + 96, as: SIMD8<Float>.self)
        c += 32
    }
    while c + 8 <= headDim {
        let o = c * 4
        var a0 = rawOut.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
        for r in 0..<rows {
            a0.addProduct(SIMD8<Float>(repeating: weights[r]),
                          rawV.loadUnaligned(fromByteOffset: offsets[r] * 4 + o, as: SIMD8<Float>.self))
        }
        rawOut.storeBytes(of: a0, toByteOffset: o, as: SIMD8<Float>.self)
        c += 8
    }
    while c < headDim {
        var s = out[c]
        for r in 0..<rows { s += weights[r] * values[offsets[r] + c] }
        out[c] = s
        c += 1
    }
}
