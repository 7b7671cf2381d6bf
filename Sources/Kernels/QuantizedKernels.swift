/// Register-tiled dot-product kernels for `QuantizedMatrix.multiply` (float activations).
///
/// A block of 32 weights is decoded once into four SIMD8<Float> (q as floats) and used
/// against up to 8 activation rows held in accumulators. Two shapes:
/// - one row: w = q·d + m is never formed; Σ q·x per block is scaled by d once
///   (one FMA per block instead of four multiplies) and m·Σx comes from precomputed
///   block sums. ~10 vector ops per 32 weights.
/// - 2…8 rows: the block is scaled once (w = q·d + m, four FMAs) and each row costs
///   four FMAs with the activation as a memory operand.
/// All loops are written for a constant row count so the unused accumulators fold away.

/// How one block format turns its bytes into four SIMD8<Float> of raw q plus (d, m).
@usableFromInline
protocol BlockDecoding {
    static var blockBytes: Int { get }
    /// True when the format has an additive term (m ≠ 0).
    static var hasOffset: Bool { get }
    /// False when d is always 1 (plain f32 rows), so no scaling is emitted.
    static var hasScale: Bool { get }
    /// q[0..<8], q[8..<16], q[16..<24], q[24..<32] as floats, with w = q·d + m.
    static func decode(_ blk: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, Float, Float)
    /// m of the block (0 without an offset).
    static func offset(_ blk: UnsafeRawPointer) -> Float
}

@inline(__always)
func halfFloat(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

/// 16 bytes of nibbles at `off`: byte j holds q[j] (low) and q[j + 16] (high).
@inline(__always)
func decodeNibbles(_ blk: UnsafeRawPointer, _ off: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
    let b0 = SIMD8<Int32>(truncatingIfNeeded: blk.loadUnaligned(fromByteOffset: off, as: SIMD8<UInt8>.self))
    let b1 = SIMD8<Int32>(truncatingIfNeeded: blk.loadUnaligned(fromByteOffset: off + 8, as: SIMD8<UInt8>.self))
    return (SIMD8<Float>(b0 & 15), SIMD8<Float>(b1 & 15), SIMD8<Float>(b0 &>> 4), SIMD8<Float>(b1 &>> 4))
}

/// Formats whose 32 weights are 16 bytes of nibbles at `nibbleOffset` (q[j] low, q[j+16] high).
protocol NibbleDecoding: BlockDecoding {
    static var nibbleOffset: Int { get }
}

struct Q4_0Decoder: NibbleDecoding {
    static var nibbleOffset: Int { 2 }
    static var hasScale: Bool { true }
    static var blockBytes: Int { 18 }
    static var hasOffset: Bool { true }
    @inline(__always)
    static func decode(_ blk: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, Float, Float) {
        let d = halfFloat(blk, 0)
        let q = decodeNibbles(blk, 2)
        return (q.0, q.1, q.2, q.3, d, -8 * d)
    }
    @inline(__always) static func offset(_ blk: UnsafeRawPointer) -> Float { -8 * halfFloat(blk, 0) }
}

struct Q4_1Decoder: NibbleDecoding {
    static var nibbleOffset: Int { 4 }
    static var hasScale: Bool { true }
    static var blockBytes: Int { 20 }
    static var hasOffset: Bool { true }
    @inline(__always)
    static func decode(_ blk: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, Float, Float) {
        let d = halfFloat(blk, 0), m = halfFloat(blk, 2)
        let q = decodeNibbles(blk, 4)
        return (q.0, q.1, q.2, q.3, d, m)
    }
    @inline(__always) static func offset(_ blk: UnsafeRawPointer) -> Float { halfFloat(blk, 2) }
}

struct Q8_0Decoder: BlockDecoding {
    static var hasScale: Bool { true }
    static var blockBytes: Int { 34 }
    static var hasOffset: Bool { false }
    @inline(__always)
    static func decode(_ blk: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, Float, Float) {
        let d = halfFloat(blk, 0)
        @inline(__always) func part(_ o: Int) -> SIMD8<Float> {
            SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: blk.loadUnaligned(fromByteOffset: 2 + o, as: SIMD8<Int8>.self)))
        }
        return (part(0), part(8), part(16), part(24), d, 0)
    }
    @inline(__always) static func offset(_ blk: UnsafeRawPointer) -> Float { 0 }
}

/// Plain f32 rows seen as 32-float "blocks" (d = 1, m = 0), so the f32 layers share the tiles.
struct F32Decoder: BlockDecoding {
    static var blockBytes: Int { 128 }
    static var hasOffset: Bool { false }
    static var hasScale: Bool { false }
    @inline(__always)
    static func decode(_ blk: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, Float, Float) {
        (loadX(blk, 0), loadX(blk, 32), loadX(blk, 64), loadX(blk, 96), 1, 0)
    }
    @inline(__always) static func offset(_ blk: UnsafeRawPointer) -> Float { 0 }
}

@inline(__always)
func loadX(_ p: UnsafeRawPointer, _ off: Int) -> SIMD8<Float> {
    p.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
}

/// q·d + m as one FMA (or q·d without an offset).
@inline(__always)
func scaled(_ q: SIMD8<Float>, _ d: SIMD8<Float>, _ m: SIMD8<Float>, _ hasOffset: Bool,
            _ hasScale: Bool = true) -> SIMD8<Float> {
    if !hasScale { return q }
    if !hasOffset { return q * d }
    var w = m
    w.addProduct(q, d)
    return w
}

extension QuantizedMatrix {
    /// y[o] for o in [lo, hi) and one activation row: x [columns], sums [blocks] (block sums of x).
    @inline(__always)
    static func dotRows1<D: BlockDecoding>(_: D.Type, data: UnsafeRawPointer, rowBytes: Int, blocks: Int,
                                           lo: Int, hi: Int, x: UnsafeRawPointer, sums: UnsafePointer<Float>,
                                           y: UnsafeMutablePointer<Float>) {
        for o in lo..<hi {
            let row = data + o * rowBytes
            var acc = SIMD8<Float>()
            var s: Float = 0
            var blk = row
            for b in 0..<blocks {
                let (q0, q1, q2, q3, d, m) = D.decode(blk)
                let xo = b &* 128
                // One chain: with two partial sums added at the end, LLVM's SLP pass
                // re-splits the block into per-lane scalar code (3× slower).
                var t = q0 * loadX(x, xo)
                t.addProduct(q1, loadX(x, xo + 32))
                t.addProduct(q2, loadX(x, xo + 64))
                t.addProduct(q3, loadX(x, xo + 96))
                if D.hasScale { acc.addProduct(SIMD8(repeating: d), t) } else { acc += t }
                if D.hasOffset { s += m * sums[b] }
                blk += D.blockBytes
            }
            y[o] = acc.sum() + s
        }
    }

    /// Writes the one-row nibble kernel's activations for x [columns]: per block,
    /// slots [0, 16) = x[j] − x[j+16]/16 and [16, 32) = x[j+16]/16, so that
    /// Σ lo·x[j] + hi·x[j+16] = Σ lo·slot[j] + byte·slot[j+16] (byte = lo + 16·hi)
    /// and the kernel never shifts the high nibbles out. Also the block sums of x.
    static func nibbleActivations(_ x: UnsafePointer<Float>, columns: Int, into xt: UnsafeMutablePointer<Float>,
                                  sums: UnsafeMutablePointer<Float>) {
        let rx = UnsafeRawPointer(x), rt = UnsafeMutableRawPointer(xt)
        for b in 0..<(columns / 32) {
            let o = b * 128
            let l0 = loadX(rx, o), l1 = loadX(rx, o + 32), h0 = loadX(rx, o + 64), h1 = loadX(rx, o + 96)
            let s0 = h0 * 0.0625, s1 = h1 * 0.0625   // exact: power of two
            rt.storeBytes(of: l0 - s0, toByteOffset: o, as: SIMD8<Float>.self)
            rt.storeBytes(of: l1 - s1, toByteOffset: o + 32, as: SIMD8<Float>.self)
            rt.storeBytes(of: s0, toByteOffset: o + 64, as: SIMD8<Float>.self)
            rt.storeBytes(of: s1, toByteOffset: o + 96, as: SIMD8<Float>.self)
            sums[b] = (l0 + l1 + h0 + h1).sum()
        }
    }

    /// One activation row of a nibble format with `nibbleActivations` input: per
    /// block 2 conversions fewer than decoding both nibbles (~10 % less CPU).
    @inline(__always)
    static func dotRows1Nibbles<D: NibbleDecoding>(_: D.Type, data: UnsafeRawPointer, rowBytes: Int, blocks: Int,
                                                   lo: Int, hi: Int, xt: UnsafeRawPointer, sums: UnsafePointer<Float>,
                                                   y: UnsafeMutablePointer<Float>) {
        for o in lo..<hi {
            var acc = SIMD8<Float>()
            var s: Float = 0
            var blk = data + o * rowBytes
            for b in 0..<blocks {
                let v0 = SIMD8<Int32>(truncatingIfNeeded: blk.loadUnaligned(fromByteOffset: D.nibbleOffset, as: SIMD8<UInt8>.self))
                let v1 = SIMD8<Int32>(truncatingIfNeeded: blk.loadUnaligned(fromByteOffset: D.nibbleOffset + 8, as: SIMD8<UInt8>.self))
                let d = halfFloat(blk, 0)
                let xo = b &* 128
                var t = SIMD8<Float>(v0 & 15) * loadX(xt, xo)
                t.addProduct(SIMD8<Float>(v1 & 15), loadX(xt, xo + 32))
                t.addProduct(SIMD8<Float>(v0), loadX(xt, xo + 64))
                t.addProduct(SIMD8<Float>(v1), loadX(xt, xo + 96))
                acc.addProduct(SIMD8(repeating: d), t)
                s += D.offset(blk) * sums[b]
                blk += D.blockBytes
            }
            y[o] = acc.sum() + s
        }
    }

    /// y[r, o] for o in [lo, hi) and r < n ≤ 4 rows; two accumulators per row keep
    /// enough FMA chains in flight. x: [n, columns] with row stride `xStride` bytes,
    /// y row stride `yStride` floats.
    @inline(__always)
    static func dotRows4<D: BlockDecoding>(_: D.Type, n: Int, data: UnsafeRawPointer, rowBytes: Int, blocks: Int,
                                           lo: Int, hi: Int, x: UnsafeRawPointer, xStride: Int,
                                           y: UnsafeMutablePointer<Float>, yStride: Int) {
        let x0 = x, x1 = x + xStride, x2 = x + 2 * xStride, x3 = x + 3 * xStride
        for o in lo..<hi {
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
            var blk = data + o * rowBytes
            for b in 0..<blocks {
                let (q0, q1, q2, q3, d, m) = D.decode(blk)
                let dv = SIMD8<Float>(repeating: d), mv = SIMD8<Float>(repeating: m)
                let w0 = scaled(q0, dv, mv, D.hasOffset, D.hasScale), w1 = scaled(q1, dv, mv, D.hasOffset, D.hasScale)
                let w2 = scaled(q2, dv, mv, D.hasOffset, D.hasScale), w3 = scaled(q3, dv, mv, D.hasOffset, D.hasScale)
                let xo = b &* 128
                a0.addProduct(w0, loadX(x0, xo)); b0.addProduct(w1, loadX(x0, xo + 32))
                if n > 1 { a1.addProduct(w0, loadX(x1, xo)); b1.addProduct(w1, loadX(x1, xo + 32)) }
                if n > 2 { a2.addProduct(w0, loadX(x2, xo)); b2.addProduct(w1, loadX(x2, xo + 32)) }
                if n > 3 { a3.addProduct(w0, loadX(x3, xo)); b3.addProduct(w1, loadX(x3, xo + 32)) }
                a0.addProduct(w2, loadX(x0, xo + 64)); b0.addProduct(w3, loadX(x0, xo + 96))
                if n > 1 { a1.addProduct(w2, loadX(x1, xo + 64)); b1.addProduct(w3, loadX(x1, xo + 96)) }
                if n > 2 { a2.addProduct(w2, loadX(x2, xo + 64)); b2.addProduct(w3, loadX(x2, xo + 96)) }
                if n > 3 { a3.addProduct(w2, loadX(x3, xo + 64)); b3.addProduct(w3, loadX(x3, xo + 96)) }
                blk += D.blockBytes
            }
            y[o] = (a0 + b0).sum()
            if n > 1 { y[yStride + o] = (a1 + b1).sum() }
            if n > 2 { y[2 * yStride + o] = (a2 + b2).sum() }
            if n > 3 { y[3 * yStride + o] = (a3 + b3).sum() }
        }
    }

    /// As `dotRows4` for 4 < n ≤ 8 rows, one accumulator per row.
    @inline(__always)
    static func dotRows8<D: BlockDecoding>(_: D.Type, n: Int, data: UnsafeRawPointer, rowBytes: Int, blocks: Int,
                                           lo: Int, hi: Int, x: UnsafeRawPointer, xStride: Int,
                                           y: UnsafeMutablePointer<Float>, yStride: Int) {
        let x0 = x, x1 = x + xStride, x2 = x + 2 * xStride, x3 = x + 3 * xStride
        let x4 = x + 4 * xStride, x5 = x + 5 * xStride, x6 = x + 6 * xStride, x7 = x + 7 * xStride
        for o in lo..<hi {
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
            var blk = data + o * rowBytes
            for b in 0..<blocks {
                let (q0, q1, q2, q3, d, m) = D.decode(blk)
                let dv = SIMD8<Float>(repeating: d), mv = SIMD8<Float>(repeating: m)
                let ws = (scaled(q0, dv, mv, D.hasOffset, D.hasScale), scaled(q1, dv, mv, D.hasOffset, D.hasScale),
                          scaled(q2, dv, mv, D.hasOffset, D.hasScale), scaled(q3, dv, mv, D.hasOffset, D.hasScale))
                var xo = b &* 128
                @inline(__always) func step(_ w: SIMD8<Float>) {
                    a0.addProduct(w, loadX(x0, xo)); a1.addProduct(w, loadX(x1, xo))
                    a2.addProduct(w, loadX(x2, xo)); a3.addProduct(w, loadX(x3, xo))
                    a4.addProduct(w, loadX(x4, xo))
                    if n > 5 { a5.addProduct(w, loadX(x5, xo)) }
                    if n > 6 { a6.addProduct(w, loadX(x6, xo)) }
                    if n > 7 { a7.addProduct(w, loadX(x7, xo)) }
                    xo += 32
                }
                step(ws.0); step(ws.1); step(ws.2); step(ws.3)
                blk += D.blockBytes
            }
            y[o] = a0.sum(); y[yStride + o] = a1.sum(); y[2 * yStride + o] = a2.sum()
            y[3 * yStride + o] = a3.sum(); y[4 * yStride + o] = a4.sum()
            if n > 5 { y[5 * yStride + o] = a5.sum() }
            if n > 6 { y[6 * yStride + o] = a6.sum() }
            if n > 7 { y[7 * yStride + o] = a7.sum() }
        }
    }

    /// Output rows [lo, hi) for activation rows [0, n), any n ≥ 1: groups of ≤ 8 rows.
    @inline(__always)
    static func dotRows<D: BlockDecoding>(_ dec: D.Type, n: Int, data: UnsafeRawPointer, rowBytes: Int,
                                          columns: Int, lo: Int, hi: Int, x: UnsafePointer<Float>,
                                          sums: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, yStride: Int) {
        let blocks = columns / 32
        let xs = columns * 4
        var r = 0
        while r < n {
            let g = min(8, n - r)
            let xr = UnsafeRawPointer(x + r * columns), yr = y + r * yStride
            switch g {
            case 1: dotRows1(dec, data: data, rowBytes: rowBytes, blocks: blocks, lo: lo, hi: hi, x: xr,
                             sums: sums + r * blocks, y: yr)
            case 2: dotRows4(dec, n: 2, data: data, rowBytes: rowBytes, blocks: blocks, lo: lo, hi: hi, x: xr, xStride: xs, y: yr, yStride: yStride)
            case 3: dotRows4(dec, n: 3, data: data, rowBytes: rowBytes, blocks: blocks, lo: lo, hi: hi, x: xr, xStride: xs, y: yr, yStride: yStride)
            case 4: dotRows4(dec, n: 4, data: data, rowBytes: rowBytes, blocks: blocks, lo: lo, hi: hi, x: xr, xStride: xs, y: yr, yStride: yStride)
            case 5: dotRows8(dec, n: 5, data: data, rowBytes: rowBytes, blocks: blocks, lo: lo, hi: hi, x: xr, xStride: xs, y: yr, yStride: yStride)
            case 6: dotRows8(dec, n: 6, data: data, rowBytes: rowBytes, blocks: blocks, lo: lo, hi: hi, x: xr, xStride: xs, y: yr, yStride: yStride)
            case 7: dotRows8(dec, n: 7, data: data, rowBytes: rowBytes, blocks: blocks, lo: lo, hi: hi, x: xr, xStride: xs, y: yr, yStride: yStride)
            default: dotRows8(dec, n: 8, data: data, rowBytes: rowBytes, blocks: blocks, lo: lo, hi: hi, x: xr, xStride: xs, y: yr, yStride: yStride)
            }
            r += g
        }
    }
}
