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

    /// out[r] = x[r] / sqrt(mean(x[r]²) + eps) · weight, for `rows` rows of `dim`.
    public static func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, eps: Float,
                               rows: Int, dim: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let xr = x + r * dim, o = out + r * dim
            let ss = dot(xr, xr, count: dim)
            let scale = 1 / (ss / Float(dim) + eps).squareRoot()
            for i in 0..<dim { o[i] = xr[i] * scale * weight[i] }
        }
    }

    /// gateUp: [rows, 2·inter] laid out as [gate | up] per row → out [rows, inter] = silu(gate)·up.
    public static func siluMul(_ gateUp: UnsafePointer<Float>, rows: Int, inter: Int,
                               into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let g = gateUp + r * 2 * inter, u = g + inter, o = out + r * inter
            for i in 0..<inter {
                let gi = g[i]
                o[i] = gi / (1 + Foundation.exp(-gi)) * u[i]
            }
        }
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
        let half = headDim / 2
        withUnsafeTemporaryAllocation(of: Float.self, capacity: headDim) { cs in
            for i in 0..<half {
                let angle = Float(position) * inverseFrequencies[i]
                cs[i] = Foundation.cos(angle)
                cs[half + i] = Foundation.sin(angle)
            }
            for h in 0..<heads {
                let v = x + h * headDim
                for i in 0..<half {
                    let a = v[i], b = v[i + half]
                    v[i] = a * cs[i] - b * cs[half + i]
                    v[i + half] = b * cs[i] + a * cs[half + i]
                }
            }
        }
    }
}
