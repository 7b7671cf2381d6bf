import XCTest
@testable import Kernels

/// f32 Linear.apply (register tiles, or OpenBLAS for prefill / odd widths) against
/// a scalar dot per output: |Δ| ≤ 1e-5 · Σ|w·x|.
final class LinearF32Tests: XCTestCase {
    func check(inF: Int, outF: Int, rows: [Int]) {
        var seed: UInt64 = 7
        func next() -> Float {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(seed >> 40) / Float(1 << 24) * 2 - 1
        }
        let w = FloatBuffer((0..<(inF * outF)).map { _ in next() })
        let bias = FloatBuffer((0..<outF).map { _ in next() })
        let layer = Linear(weights: w, inFeatures: inF, outFeatures: outF, bias: bias)
        for n in rows {
            let x = (0..<(n * inF)).map { _ in next() }
            var y = [Float](repeating: .nan, count: n * outF)
            layer.apply(x, rows: n, into: &y)
            var worst: Float = 0
            for r in 0..<n {
                for o in 0..<outF {
                    var dot = bias[o], mag = abs(bias[o])
                    for i in 0..<inF { dot += w[o * inF + i] * x[r * inF + i]; mag += abs(w[o * inF + i] * x[r * inF + i]) }
                    let e = abs(y[r * outF + o] - dot) / mag
                    worst = e.isNaN ? .infinity : max(worst, e)
                }
            }
            XCTAssertLessThanOrEqual(worst, 1e-5, "in \(inF) out \(outF) rows \(n)")
        }
    }

    func testTiledRowCounts() { check(inF: 96, outF: 70, rows: Array(1...17)) }
    func testPrefillSizedBatch() { check(inF: 64, outF: 50, rows: [QuantizedMatrix.gemmThreshold + 5]) }
    func testWidthNotMultipleOf32UsesBLAS() { check(inF: 40, outF: 33, rows: [1, 3]) }
}
