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
/// q, out: [queryCount, heads, headDim]; scratch: [>= start + queryCount] scores.
/// scale = 1/sqrt(headDim); kv head of head h = h / (heads / kvHeads).
/// K/V rows are read block by block in place: no contiguous copy of the prefix.
public func pagedAttention(view: PagedKVView, start: Int, queryCount: Int, heads: Int,
                           q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                           scratch: UnsafeMutablePointer<Float>) {
    precondition(start >= 0 && queryCount >= 0 && heads > 0 && view.kvHeads > 0 && view.headDim > 0)
    precondition(heads % view.kvHeads == 0, "heads must be a multiple of kvHeads")
    let headDim = view.headDim
    let group = heads / view.kvHeads
    let rowFloats = view.kvHeads * headDim
    let scale = 1 / Float(headDim).squareRoot()

    for i in 0..<queryCount {
        let attended = start + i + 1  // positions [0, start + i]
        for h in 0..<heads {
            let headOffset = (h / group) * headDim
            let qRow = q + (i * heads + h) * headDim
            let outRow = out + (i * heads + h) * headDim

            // Scores, block by block; track the max for a stable softmax.
            var maxScore = -Float.infinity
            var p = 0
            var blockIndex = 0
            while p < attended {
                let rows = min(view.blockSize, attended - p)
                var k = view.keyBase + view.blockTable[blockIndex] * view.blockStride + headOffset
                for r in 0..<rows {
                    let s = dot(qRow, k, headDim) * scale
                    scratch[p + r] = s
                    if s > maxScore { maxScore = s }
                    k += rowFloats
                }
                p += rows
                blockIndex += 1
            }

            var sum: Float = 0
            for j in 0..<attended {
                let e = expf(scratch[j] - maxScore)
                scratch[j] = e
                sum += e
            }
            let inverse = 1 / sum
            for j in 0..<attended { scratch[j] *= inverse }

            weightedValueSum(view: view, headOffset: headOffset, weights: scratch,
                             count: attended, out: outRow)
        }
    }
}

/// a · b over n floats; SIMD8 with FMA, scalar tail when n is not a multiple of 8.
@inline(__always)
private func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    let stride = MemoryLayout<SIMD8<Float>>.stride
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    var c = 0
    while c + 16 <= n {
        let off = c * 4
        acc0.addProduct(ra.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self),
                        rb.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self))
        acc1.addProduct(ra.loadUnaligned(fromByteOffset: off + stride, as: SIMD8<Float>.self),
                        rb.loadUnaligned(fromByteOffset: off + stride, as: SIMD8<Float>.self))
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

/// Calls body(j, row) for j in [0, count) with row = V[j] + column, walking the block table.
@inline(__always)
private func forEachValueRow(_ view: PagedKVView, column: Int, count: Int,
                             _ body: (Int, UnsafeRawPointer) -> Void) {
    let rowFloats = view.kvHeads * view.headDim
    var p = 0
    var blockIndex = 0
    while p < count {
        let rows = min(view.blockSize, count - p)
        var v = view.valueBase + view.blockTable[blockIndex] * view.blockStride + column
        for r in 0..<rows {
            body(p + r, UnsafeRawPointer(v))
            v += rowFloats
        }
        p += rows
        blockIndex += 1
    }
}

/// out[0..<headDim] = Σ_j weights[j] * V[j][headOffset ..< headOffset + headDim], reading V
/// block by block. Columns go 32 at a time so the accumulators stay in registers, then 8, then 1.
@inline(__always)
private func weightedValueSum(view: PagedKVView, headOffset: Int, weights: UnsafePointer<Float>,
                              count: Int, out: UnsafeMutablePointer<Float>) {
    let headDim = view.headDim
    let rawOut = UnsafeMutableRawPointer(out)
    var c = 0
    while c + 32 <= headDim {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        forEachValueRow(view, column: headOffset + c, count: count) { j, v in
            let w = SIMD8<Float>(repeating: weights[j])
            a0.addProduct(w, v.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self))
            a1.addProduct(w, v.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
            a2.addProduct(w, v.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
            a3.addProduct(w, v.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
        }
        rawOut.storeBytes(of: a0, toByteOffset: c * 4, as: SIMD8<Float>.self)
        rawOut.storeBytes(of: a1, toByteOffset: c * 4 + 32, as: SIMD8<Float>.self)
        rawOut.storeBytes(of: a2, toByteOffset: c * 4 + 64, as: SIMD8<Float>.self)
        rawOut.storeBytes(of: a3, toByteOffset: c * 4 + 96, as: SIMD8<Float>.self)
        c += 32
    }
    while c + 8 <= headDim {
        var a0 = SIMD8<Float>()
        forEachValueRow(view, column: headOffset + c, count: count) { j, v in
            a0.addProduct(SIMD8<Float>(repeating: weights[j]), v.loadUnaligned(as: SIMD8<Float>.self))
        }
        rawOut.storeBytes(of: a0, toByteOffset: c * 4, as: SIMD8<Float>.self)
        c += 8
    }
    while c < headDim {
        var s: Float = 0
        forEachValueRow(view, column: headOffset + c, count: count) { j, v in
            s += weights[j] * v.load(as: Float.self)
        }
        out[c] = s
        c += 1
    }
}
