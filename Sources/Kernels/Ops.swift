import CKernels
import Foundation

/// Element-wise and row-wise float kernels used by the forward pass.
/// All pointers are row-major; counts are element counts.
public enum Ops {
    /// y[i] += x[i]
    @inline(__always)
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
        while i + 16 <= count {
            let v = ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                + rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            ry.storeBytes(of: v, toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count { y[i] += x[i]; i += 1 }
    }

    /// Σ x[i]·y[i]
    @inline(__always)
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        var acc = SIMD16<Float>()
        var i = 0
        let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y)
        while i + 16 <= count {
            acc.addProduct(rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self),
                           ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
            i += 16
        }
        var s = acc.sum()
        while i < count { s += x[i] * y[i]; i += 1 }
        return s
    }

    /// Σ_j out[j] · max(0, bias[j] + Σ_i x[i] · wt[i·h + j]) over j in [0, h): a ReLU layer
    /// stored input-major (wt [c, h], the transpose of PyTorch's [h, c]) followed by a dot
    /// product, for one row x [c]. Each unit's sum is one FMA chain over the inputs in
    /// order; 64 units are in flight (four 16-lane vectors) and no unit needs a horizontal
    /// sum (with [h, c] rows each unit ended in one: most of a small SPRM head's time).
    public static func reluDot(_ x: UnsafePointer<Float>, inputMajor wt: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>, out: UnsafePointer<Float>, inputs c: Int, units h: Int) -> Float {
        let rw = UnsafeRawPointer(wt), rb = UnsafeRawPointer(bias), ro = UnsafeRawPointer(out)
        @inline(__always) func load(_ p: UnsafeRawPointer, _ j: Int) -> SIMD16<Float> {
            p.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
        }
        @inline(__always) func relu(_ v: SIMD16<Float>) -> SIMD16<Float> { v.replacing(with: 0, where: v .< 0) }
        var total = SIMD16<Float>()
        var j = 0
        while j + 64 <= h {
            var a0 = load(rb, j), a1 = load(rb, j + 16), a2 = load(rb, j + 32), a3 = load(rb, j + 48)
            for i in 0..<c {
                let xi = SIMD16<Float>(repeating: x[i]), row = i * h + j
                a0.addProduct(xi, load(rw, row))
                a1.addProduct(xi, load(rw, row + 16))
                a2.addProduct(xi, load(rw, row + 32))
                a3.addProduct(xi, load(rw, row + 48))
            }
            total.addProduct(relu(a0), load(ro, j))
            total.addProduct(relu(a1), load(ro, j + 16))
            total.addProduct(relu(a2), load(ro, j + 32))
            total.addProduct(relu(a3), load(ro, j + 48))
            j += 64
        }
        while j + 16 <= h {
            var a = load(rb, j)
            for i in 0..<c { a.addProduct(SIMD16<Float>(repeating: x[i]), load(rw, i * h + j)) }
            total.addProduct(relu(a), load(ro, j))
            j += 16
        }
        var z = total.sum()
        while j < h {
            var a = bias[j]
            for i in 0..<c { a = a.addingProduct(x[i], wt[i * h + j]) }
            if a > 0 { z += a * out[j] }
            j += 1
        }
        return z
    }

    /// `dot(a_k, y)` for four rows a_k at once, each bit-identical to `dot` (the same FMA
    /// chain and reduction per row); four independent chains instead of one.
    public static func dot4(_ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>, _ a2: UnsafePointer<Float>,
                            _ a3: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> SIMD4<Float> {
        var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>(), c3 = SIMD16<Float>()
        let r0 = UnsafeRawPointer(a0), r1 = UnsafeRawPointer(a1), r2 = UnsafeRawPointer(a2), r3 = UnsafeRawPointer(a3)
        let ry = UnsafeRawPointer(y)
        var i = 0
        while i + 16 <= count {
            let v = ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            c0.addProduct(r0.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self), v)
            c1.addProduct(r1.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self), v)
            c2.addProduct(r2.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self), v)
            c3.addProduct(r3.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self), v)
            i += 16
        }
        var s = SIMD4<Float>(c0.sum(), c1.sum(), c2.sum(), c3.sum())
        while i < count {
            s[0] += a0[i] * y[i]; s[1] += a1[i] * y[i]; s[2] += a2[i] * y[i]; s[3] += a3[i] * y[i]
            i += 1
        }
        return s
    }

    /// out[r] = x[r] / sqrt(mean(x[r]²) + eps) · weight, for `rows` rows of `dim`.
    public static func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, eps: Float,
                               rows: Int, dim: Int, into out: UnsafeMutablePointer<Float>) {
        let rw = UnsafeRawPointer(weight)
        for r in 0..<rows {
            let xr = x + r * dim, o = out + r * dim
            let ss = dot(xr, xr, count: dim)
            let scale = 1 / (ss / Float(dim) + eps).squareRoot()
            let rx = UnsafeRawPointer(xr), ro = UnsafeMutableRawPointer(o)
            var i = 0
            while i + 8 <= dim {
                let v = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * scale
                    * rw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                ro.storeBytes(of: v, toByteOffset: i * 4, as: SIMD8<Float>.self)
                i += 8
            }
            while i < dim { o[i] = xr[i] * scale * weight[i]; i += 1 }
        }
    }

    /// gateUp: [rows, 2·inter] laid out as [gate | up] per row → out [rows, inter] = silu(gate)·up.
    /// In C (`ck_silu_mul`): 16 lanes at a time where AVX-512 runs (`wide`), else 8; e^x by
    /// the steps of `Ops.exp`, so every lane's value is the same either way.
    public static func siluMul(_ gateUp: UnsafePointer<Float>, rows: Int, inter: Int,
                               into out: UnsafeMutablePointer<Float>, wide: Bool = QuantizedMatrix.wideKernelsAvailable) {
        ck_silu_mul(gateUp, Int32(rows), Int32(inter), out, wide ? 1 : 0)
    }

    /// e^x per lane, relative error < 2e-7 for x in [-87, 88] (clamped outside: 0 / +huge
    /// instead of denormals / inf). Range reduction x = k·ln2 + r, |r| ≤ ln2/2, then a
    /// degree-6 Taylor polynomial in r and 2^k built in the exponent bits.
    @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let xc = Ops.lanewiseMin(Ops.lanewiseMax(x, SIMD8(repeating: -87)), SIMD8(repeating: 88))
        let magic = SIMD8<Float>(repeating: 12_582_912)          // 1.5·2^23: adding it rounds to an integer
        var t = magic
        t.addProduct(xc, SIMD8(repeating: 1.442_695_04))        // x·log2(e) + magic
        let k = t - magic
        var r = xc
        r.addProduct(k, SIMD8(repeating: -0.693_145_751_953_125))     // ln2 high part (exact in f32)
        r.addProduct(k, SIMD8(repeating: -1.428_606_765_330_187e-06)) // ln2 low part
        var p = SIMD8<Float>(repeating: 1.0 / 720)
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        // t's low mantissa bits hold k (biased by magic); shift k + 127 into the exponent.
        let bits = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127
        let scale = unsafeBitCast(bits &<< 23, to: SIMD8<Float>.self)
        return p * scale
    }

    /// Index of the largest value (first on ties).
    public static func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
        var best = 0
        var bv = -Float.infinity
        for i in 0..<count where x[i] > bv { bv = x[i]; best = i }
        return best
    }
}

/// Rotary position embedding tables and application, Hugging Face "rotate half"
/// convention: dimension i pairs with i + headDim/2.
public struct Rope: Sendable {
    public let headDim: Int
    public let inverseFrequencies: [Float]   // [headDim/2]

    public init(headDim: Int, theta: Double, inverseFrequencies: [Double]? = nil) {
        self.headDim = headDim
        let half = headDim / 2
        let freqs = inverseFrequencies ?? (0..<half).map { 1.0 / Foundation.pow(theta, Double(2 * $0) / Double(headDim)) }
        self.inverseFrequencies = freqs.map { Float($0) }
    }

    /// Rotates `heads` vectors of `headDim` at `x` (one token) for `position`.
    /// Angles in double precision, as the reference computes them in f32 from an f32
    /// inverse frequency times an integer position: the product is exact enough.
    public func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, position: Int) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: headDim) { cs in
            table(position: position, into: cs.baseAddress!)
            apply(x, heads: heads, table: UnsafePointer(cs.baseAddress!))
        }
    }

    /// Writes the rotation for `position` as [cos(θ_0..θ_{half-1}) | sin(θ_0..θ_{half-1})]
    /// into `table` [headDim]; one table serves every head and layer of that position.
    public func table(position: Int, into table: UnsafeMutablePointer<Float>) {
        let half = headDim / 2
        for i in 0..<half {
            let angle = Float(position) * inverseFrequencies[i]
            table[i] = Foundation.cos(angle)
            table[half + i] = Foundation.sin(angle)
        }
    }

    /// Rotates `heads` vectors of `headDim` at `x` with a table from `table(position:into:)`.
    @inline(__always)
    public func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, table cs: UnsafePointer<Float>) {
        let half = headDim / 2
        let rc = UnsafeRawPointer(cs)
        for h in 0..<heads {
            let v = x + h * headDim
            let rv = UnsafeMutableRawPointer(v)
            var i = 0
            while i + 8 <= half {
                let a = rv.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                let b = rv.loadUnaligned(fromByteOffset: (i + half) * 4, as: SIMD8<Float>.self)
                let c = rc.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                let s = rc.loadUnaligned(fromByteOffset: (i + half) * 4, as: SIMD8<Float>.self)
                rv.storeBytes(of: a * c - b * s, toByteOffset: i * 4, as: SIMD8<Float>.self)
                rv.storeBytes(of: b * c + a * s, toByteOffset: (i + half) * 4, as: SIMD8<Float>.self)
                i += 8
            }
            while i < half {
                let a = v[i], b = v[i + half]
                v[i] = a * cs[i] - b * cs[half + i]
                v[i + half] = b * cs[i] + a * cs[half + i]
                i += 1
            }
        }
    }
}

extension Ops {
    /// Largest value of x[0..<count] (−∞ when empty).
    public static func max(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var m = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        let raw = UnsafeRawPointer(x)
        while i + 8 <= count {
            m = lanewiseMax(m, raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
            i += 8
        }
        var best = m.max()
        while i < count { best = Swift.max(best, x[i]); i += 1 }
        return best
    }

    /// log Σ exp(x[i]) over [0, count), computed stably around the maximum.
    public static func logSumExp(_ x: UnsafePointer<Float>, count: Int) -> Double {
        let m = max(x, count: count)
        var acc = SIMD8<Float>()
        var total = 0.0
        var i = 0
        let raw = UnsafeRawPointer(x)
        let shift = SIMD8<Float>(repeating: m)
        while i + 8 <= count {
            acc += exp(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - shift)
            i += 8
            if i & 1023 == 0 { total += Double(acc.sum()); acc = SIMD8() }   // keep lane sums small
        }
        total += Double(acc.sum())
        while i < count { total += Foundation.exp(Double(x[i] - m)); i += 1 }
        return Double(m) + Foundation.log(total)
    }

    /// x[i] ← exp((x[i] − shift)·scale) in place; returns Σ of the new values.
    public static func expInPlace(_ x: UnsafeMutablePointer<Float>, count: Int, shift: Float, scale: Float) -> Double {
        var acc = SIMD8<Float>()
        var total = 0.0
        var i = 0
        let raw = UnsafeMutableRawPointer(x)
        let s = SIMD8<Float>(repeating: shift), k = SIMD8<Float>(repeating: scale)
        while i + 8 <= count {
            let e = exp((raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - s) * k)
            raw.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self)
            acc += e
            i += 8
            if i & 1023 == 0 { total += Double(acc.sum()); acc = SIMD8() }
        }
        total += Double(acc.sum())
        while i < count {
            let e = Float(Foundation.exp(Double((x[i] - shift) * scale)))
            x[i] = e
            total += Double(e)
            i += 1
        }
        return total
    }
}

extension Ops {
    /// Lane-wise max/min as one vmaxps/vminps: the stdlib's `pointwiseMax/Min` and
    /// `clamped` are not inlined for SIMD8<Float> (an out-of-line call per use, found with
    /// `perf record`); `replace(with:where:)` is.
    /// One concrete overload per width, on purpose: a single generic `<V: SIMD>` version
    /// (session 13's review) made the default model's draws 3× slower (outside the forward
    /// 4.1 → 12.6 µs per MCTS token), since `.<` and `replace` on a generic SIMD type go
    /// through the stdlib's unspecialised lane loops even when the call is inlined.
    @inline(__always)
    public static func lanewiseMax(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
        var r = a
        r.replace(with: b, where: a .< b)
        return r
    }

    @inline(__always)
    public static func lanewiseMax(_ a: SIMD2<Float>, _ b: SIMD2<Float>) -> SIMD2<Float> {
        var r = a
        r.replace(with: b, where: a .< b)
        return r
    }

    @inline(__always)
    public static func lanewiseMax(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        var r = a
        r.replace(with: b, where: a .< b)
        return r
    }

    @inline(__always)
    public static func lanewiseMin(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        var r = a
        r.replace(with: b, where: b .< a)
        return r
    }
}
