import Foundation

/// Where one layer's K and V rows of a paged KV cache live, at pointer level.
///
/// Token `p` of a sequence sits in block `blockTable[p / blockSize]`, row `p % blockSize`:
///   key row   = keyBase   + block * blockStride + (p % blockSize) * kvHeads * headDim   // [kvHeads * headDim]
///   value row = valueBase + block * blockStride + (p % blockSize) * kvHeads * headDim
/// Kernels knows nothing of PagedKV; PagedKV fills this in from its pool and tables.
public struct PagedKVView {
    public var keyBase: UnsafePointer<Float>
    public var valueBase: UnsafePointer<Float>
    /// Floats between block `b` and block `b + 1`.
    public var blockStride: Int
    /// Block ids of the sequence, in position order; covers at least every attended position.
    public var blockTable: UnsafePointer<Int>
    public var blockSize: Int
    public var kvHeads: Int
    public var headDim: Int

    public init(keyBase: UnsafePointer<Float>, valueBase: UnsafePointer<Float>, blockStride: Int,
                blockTable: UnsafePointer<Int>, blockSize: Int, kvHeads: Int, headDim: Int) {
        self.keyBase = keyBase
        self.valueBase = valueBase
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
    // [group, chunkRows] scores of one chunk, then [group] running max, then [group] running sum.
    withUnsafeTemporaryAllocation(of: Float.self, capacity: group * (chunkRows + 2)) { buffer in
        guard let temp = buffer.baseAddress else { return }
        for i in 0..<queryCount {
            for g in 0..<view.kvHeads {
                let first = i * heads + g * group  // first head row of this group in q and out
                attendGroup(view: view, kvHead: g, group: group, attended: start + i + 1,
                            q: q + first * view.headDim, out: out + first * view.headDim, temp: temp)
            }
        }
    }
}

/// Positions per score chunk (a block is split into chunks when blockSize is larger,
/// and a chunk spans several blocks when blockSize is smaller).
private let chunkRows = 32

/// The `group` heads sharing kv head `kvHead`, attending to positions [0, attended).
/// q, out: [group, headDim]; temp: [group * (chunkRows + 2)].
@inline(__always)
private func attendGroup(view: PagedKVView, kvHead: Int, group: Int, attended: Int,
                         q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                         temp: UnsafeMutablePointer<Float>) {
    let headDim = view.headDim
    let rowFloats = view.kvHeads * headDim
    let scale = 1 / Float(headDim).squareRoot()
    let scores = temp                          // [group, chunkRows]
    let runningMax = temp + group * chunkRows  // [group]
    let runningSum = runningMax + group        // [group]
    out.update(repeating: 0, count: group * headDim)
    for h in 0..<group {
        runningMax[h] = -.infinity
        runningSum[h] = 0
    }

    // A chunk is up to chunkRows consecutive positions, possibly spanning several small
    // blocks: the softmax rescale runs once per chunk, not once per block, so small blocks
    // (less copy-on-write waste in a tree) cost no extra exp/rescale passes.
    var p = 0
    while p < attended {
        let chunkEnd = min(p + chunkRows, attended)
        for h in 0..<group {
            let qRow = q + h * headDim
            let s = scores + h * chunkRows
            var chunkMax = -Float.infinity
            var pos = p
            while pos < chunkEnd {  // one segment = the chunk's rows inside one block
                let row = pos % view.blockSize
                let rows = min(view.blockSize - row, chunkEnd - pos)
                let k = view.keyBase + view.blockTable[pos / view.blockSize] * view.blockStride
                    + row * rowFloats + kvHead * headDim
                let sSeg = s + (pos - p)
                var r = 0
                while r + 4 <= rows {  // four independent FMA chains hide the FMA latency
                    let x = dot4(qRow, k + r * rowFloats, rowFloats, headDim) * scale
                    sSeg[r] = x[0]; sSeg[r + 1] = x[1]; sSeg[r + 2] = x[2]; sSeg[r + 3] = x[3]
                    chunkMax = max(chunkMax, x.max())
                    r += 4
                }
                while r < rows {
                    let x = dot(qRow, k + r * rowFloats, headDim) * scale
                    sSeg[r] = x
                    chunkMax = max(chunkMax, x)
                    r += 1
                }
                pos += rows
            }
            // Online softmax: rescale what was accumulated under the old max.
            let newMax = max(runningMax[h], chunkMax)
            if newMax > runningMax[h] {
                let correction = expf(runningMax[h] - newMax)  // 0 on the first chunk
                runningSum[h] *= correction
                scaleRow(out + h * headDim, by: correction, count: headDim)
                runningMax[h] = newMax
            }
            var sum: Float = 0
            for r in 0..<(chunkEnd - p) {
                let e = expf(s[r] - newMax)
                s[r] = e
                sum += e
            }
            runningSum[h] += sum
            pos = p
            while pos < chunkEnd {
                let row = pos % view.blockSize
                let rows = min(view.blockSize - row, chunkEnd - pos)
                let v = view.valueBase + view.blockTable[pos / view.blockSize] * view.blockStride
                    + row * rowFloats + kvHead * headDim
                accumulateRows(out + h * headDim, weights: s + (pos - p), values: v, rows: rows,
                               rowFloats: rowFloats, headDim: headDim)
                pos += rows
            }
        }
        p = chunkEnd
    }
    for h in 0..<group {
        scaleRow(out + h * headDim, by: 1 / runningSum[h], count: headDim)
    }
}

@inline(__always)
private func scaleRow(_ x: UnsafeMutablePointer<Float>, by factor: Float, count: Int) {
    for c in 0..<count { x[c] *= factor }
}

/// (a · b[0], a · b[stride], a · b[2 stride], a · b[3 stride]) over n floats.
@inline(__always)
private func dot4(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ stride: Int, _ n: Int) -> SIMD4<Float> {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    let rowBytes = stride * 4
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
    var c = 0
    while c + 8 <= n {
        let off = c * 4
        let x = ra.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
        acc0.addProduct(x, rb.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self))
        acc1.addProduct(x, rb.loadUnaligned(fromByteOffset: off + rowBytes, as: SIMD8<Float>.self))
        acc2.addProduct(x, rb.loadUnaligned(fromByteOffset: off + 2 * rowBytes, as: SIMD8<Float>.self))
        acc3.addProduct(x, rb.loadUnaligned(fromByteOffset: off + 3 * rowBytes, as: SIMD8<Float>.self))
        c += 8
    }
    var result = SIMD4<Float>(acc0.sum(), acc1.sum(), acc2.sum(), acc3.sum())
    while c < n {
        let x = a[c]
        result += SIMD4<Float>(x * b[c], x * b[stride + c], x * b[2 * stride + c], x * b[3 * stride + c])
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

/// out[0..<headDim] += Σ_r weights[r] * values[r * rowFloats ..< r * rowFloats + headDim].
/// Columns go 32 at a time so the accumulators stay in registers, then 8, then 1.
@inline(__always)
private func accumulateRows(_ out: UnsafeMutablePointer<Float>, weights: UnsafePointer<Float>,
                            values: UnsafePointer<Float>, rows: Int, rowFloats: Int, headDim: Int) {
    let rawOut = UnsafeMutableRawPointer(out)
    let rawV = UnsafeRawPointer(values)
    let rowBytes = rowFloats * 4
    var c = 0
    while c + 32 <= headDim {
        let o = c * 4
        var a0 = rawOut.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
        var a1 = rawOut.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self)
        var a2 = rawOut.loadUnaligned(fromByteOffset: o + 64, as: SIMD8<Float>.self)
        var a3 = rawOut.loadUnaligned(fromByteOffset: o + 96, as: SIMD8<Float>.self)
        for r in 0..<rows {
            let w = SIMD8<Float>(repeating: weights[r])
            let base = r * rowBytes + o
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
                          rawV.loadUnaligned(fromByteOffset: r * rowBytes + o, as: SIMD8<Float>.self))
        }
        rawOut.storeBytes(of: a0, toByteOffset: o, as: SIMD8<Float>.self)
        c += 8
    }
    while c < headDim {
        var s = out[c]
        for r in 0..<rows { s += weights[r] * values[r * rowFloats + c] }
        out[c] = s
        c += 1
    }
}
