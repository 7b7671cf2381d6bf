import Foundation
import XCTest
@testable import Kernels

/// The vectorised element-wise kernels against plain scalar formulas.
final class OpsTests: XCTestCase {
    func testVectorExpMatchesFoundation() {
        var worst: Float = 0
        var x: Float = -87
        while x <= 88 {
            let v = SIMD8<Float>((0..<8).map { x + Float($0) * 0.0137 })
            let e = Ops.exp(v)
            for i in 0..<8 where v[i] <= 88 {
                let ref = Foundation.exp(Double(v[i]))
                worst = max(worst, Float(abs(Double(e[i]) - ref) / ref))
            }
            x += 0.1
        }
        XCTAssertLessThanOrEqual(worst, 3e-7, "relative error of Ops.exp")
        // Clamped, finite, no NaN at the extremes.
        let ends = Ops.exp(SIMD8<Float>(-1000, -200, -88, 0, 89, 200, 1000, -0))
        for i in 0..<8 { XCTAssertTrue(ends[i].isFinite && ends[i] >= 0) }
    }

    func testSiluMulAndRmsNormMatchScalar() {
        let inter = 37, rows = 3   // odd width exercises the scalar tail
        let gu = (0..<(rows * 2 * inter)).map { Float(sin(Double($0) * 0.7)) * 9 }
        var out = [Float](repeating: 0, count: rows * inter)
        Ops.siluMul(gu, rows: rows, inter: inter, into: &out)
        for r in 0..<rows {
            for i in 0..<inter {
                let g = gu[r * 2 * inter + i], u = gu[r * 2 * inter + inter + i]
                let ref = g / (1 + Foundation.exp(-g)) * u
                XCTAssertEqual(out[r * inter + i], ref, accuracy: 1e-6 * max(1, abs(ref)))
            }
        }
        let dim = 43
        let x = (0..<(rows * dim)).map { Float(cos(Double($0) * 1.3)) * 3 }
        let w = (0..<dim).map { 0.5 + Float($0) / Float(dim) }
        var y = [Float](repeating: 0, count: rows * dim)
        Ops.rmsNorm(x, weight: w, eps: 1e-5, rows: rows, dim: dim, into: &y)
        for r in 0..<rows {
            let ms = (0..<dim).reduce(Float(0)) { $0 + x[r * dim + $1] * x[r * dim + $1] } / Float(dim)
            let s = 1 / (ms + 1e-5).squareRoot()
            for i in 0..<dim { XCTAssertEqual(y[r * dim + i], x[r * dim + i] * s * w[i], accuracy: 1e-5) }
        }
    }

    /// The per-position table path rotates exactly like the original per-call path.
    func testRopeTableMatchesDirectRotation() {
        let rope = Rope(headDim: 64, theta: 10_000)
        for position in [0, 1, 17, 4095] {
            let v = (0..<(3 * 64)).map { Float(sin(Double($0) * 0.31)) }
            var a = v, b = v
            rope.apply(&a, heads: 3, position: position)
            var table = [Float](repeating: 0, count: 64)
            rope.table(position: position, into: &table)
            rope.apply(&b, heads: 3, table: table)
            XCTAssertEqual(a, b)
            // Reference: rotate-half with angles from the inverse frequencies.
            for h in 0..<3 {
                for i in 0..<32 {
                    let ang = Float(position) * rope.inverseFrequencies[i]
                    let x0 = v[h * 64 + i], x1 = v[h * 64 + i + 32]
                    XCTAssertEqual(a[h * 64 + i], x0 * cos(ang) - x1 * sin(ang), accuracy: 1e-5)
                    XCTAssertEqual(a[h * 64 + i + 32], x1 * cos(ang) + x0 * sin(ang), accuracy: 1e-5)
                }
            }
        }
    }
}

/// `reluDot` (the SPRM head's layer over input-major weights) against the f64 definition,
/// for widths with and without the 64- and 16-unit blocks' tails, and a layer where every
/// unit is negative (ReLU gives 0).
final class ReluDotTests: XCTestCase {
    func testMatchesTheDoubleDefinition() {
        var rng = SplitMix64(seed: 21)
        func r() -> Float { Float(Double(rng.next() >> 11) * 0x1.0p-53) * 2 - 1 }
        for (c, h) in [(1, 1), (3, 17), (128, 256), (96, 80), (40, 130), (7, 64), (5, 15)] {
            let x = (0..<c).map { _ in r() }, wt = (0..<c * h).map { _ in r() }
            let w2 = (0..<h).map { _ in r() }
            for allNegative in [false, true] {
                let bias = (0..<h).map { _ in allNegative ? Float(-1000) : r() }
                var want = 0.0, scale = 0.0
                for j in 0..<h {
                    var a = Double(bias[j])
                    for i in 0..<c { a += Double(x[i]) * Double(wt[i * h + j]); scale += abs(Double(x[i]) * Double(wt[i * h + j])) }
                    want += Double(w2[j]) * max(0, a)
                }
                let got = Ops.reluDot(x, inputMajor: wt, bias: bias, out: w2, inputs: c, units: h)
                if allNegative { XCTAssertEqual(got, 0, "c \(c) h \(h): every unit below 0") } else {
                    XCTAssertEqual(Double(got), want, accuracy: 1e-5 * max(1, scale), "c \(c) h \(h)")
                }
            }
        }
    }
}

/// `dot4` is four `dot`s in one loop: the same bits per row (callers rely on it to keep
/// SPRM scores unchanged), for lengths with and without a scalar tail.
final class Dot4Tests: XCTestCase {
    func testDot4MatchesDotBitwise() {
        var rng = SystemRandomNumberGenerator()
        for count in [1, 15, 16, 17, 128, 131, 576] {
            let rows = (0..<5).map { _ in (0..<count).map { _ in Float.random(in: -2...2, using: &rng) } }
            let d = rows[0..<4].map { r in r.withUnsafeBufferPointer { a in rows[4].withUnsafeBufferPointer { y in
                Ops.dot(a.baseAddress!, y.baseAddress!, count: count) } } }
            let four = rows[0].withUnsafeBufferPointer { a0 in rows[1].withUnsafeBufferPointer { a1 in
                rows[2].withUnsafeBufferPointer { a2 in rows[3].withUnsafeBufferPointer { a3 in
                    rows[4].withUnsafeBufferPointer { y in
                        Ops.dot4(a0.baseAddress!, a1.baseAddress!, a2.baseAddress!, a3.baseAddress!, y.baseAddress!, count: count)
                    } } } } }
            for k in 0..<4 { XCTAssertEqual(four[k].bitPattern, d[k].bitPattern, "count \(count) row \(k)") }
        }
    }
}
