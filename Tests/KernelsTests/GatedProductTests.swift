import CKernels
import XCTest
@testable import Kernels

/// The MLP's down projection fed by silu(g) · u: `ck_silu_mul` against `Ops.exp` (the
/// same IEEE steps, so equal bit for bit), the fused quantizer (`ck_q8_quantize_silu`)
/// against quantizing `ck_silu_mul`'s rows (equal bytes in every layout), and
/// `Linear.applyGated` against `Ops.siluMul` then `apply` (equal outputs, q8 and f32).
final class GatedProductTests: XCTestCase {
    typealias Rng = QuantizedMultiplyTests.Rng

    /// Rows [g | u] with g over ±12 (both tails of the sigmoid) and u over ±3.
    func gateUp(rows: Int, inter: Int, rng: inout Rng) -> [Float] {
        var v = [Float](repeating: 0, count: rows * 2 * inter)
        for r in 0..<rows {
            for i in 0..<inter {
                v[r * 2 * inter + i] = rng.float() * 12
                v[r * 2 * inter + inter + i] = rng.float() * 3
            }
        }
        return v
    }

    func testSiluMulMatchesOpsExpBitForBit() {
        var rng = Rng(state: 11)
        for inter in [8, 37, 576] {   // 37: the tail vector
            let rows = 3
            let gu = gateUp(rows: rows, inter: inter, rng: &rng)
            var out = [Float](repeating: .nan, count: rows * inter)
            Ops.siluMul(gu, rows: rows, inter: inter, into: &out)
            for r in 0..<rows {
                for i in 0..<inter {
                    let g = gu[r * 2 * inter + i], u = gu[r * 2 * inter + inter + i]
                    let e = Ops.exp(SIMD8<Float>(repeating: -g))[0]
                    let want = g / (1 + e) * u
                    XCTAssertEqual(out[r * inter + i].bitPattern, want.bitPattern, "row \(r) [\(i)] g \(g) u \(u)")
                }
            }
        }
    }

    func testFusedQuantizerEqualsSiluThenQuantize() {
        var rng = Rng(state: 5)
        // 1 block, 5 blocks, 18 (a 16-block group and a plain tail), 48 (three groups).
        for inter in [32, 160, 576, 1536] {
            let n = 4
            let gu = gateUp(rows: n, inter: inter, rng: &rng)
            var act = [Float](repeating: 0, count: n * inter)
            Ops.siluMul(gu, rows: n, inter: inter, into: &act)
            let stride = QuantizedMatrix.q8RowBytes(columns: inter)
            for layout in [QuantizedMatrix.Q8Layout.plain, .grouped, .lanes] {
                var separate = [UInt8](repeating: 0xAB, count: n * stride)
                var fused = [UInt8](repeating: 0xCD, count: n * stride)
                act.withUnsafeBufferPointer { a in
                    separate.withUnsafeMutableBytes {
                        QuantizedMatrix.quantizeActivations(a.baseAddress!, rows: n, columns: inter, into: $0.baseAddress!, layout: layout)
                    }
                }
                fused.withUnsafeMutableBufferPointer {
                    ck_q8_quantize_silu(layout.rawValue, gu, Int32(n), Int32(inter), $0.baseAddress!, stride)
                }
                // Bytes past a layout's end are not written by either: compare what the layout holds.
                let used = layout == .lanes ? inter / 32 * 48 : layout == .plain ? plainBytes(inter / 32) : groupedBytes(inter / 32)
                for r in 0..<n {
                    XCTAssertEqual(Array(fused[(r * stride)..<(r * stride + used)]),
                                   Array(separate[(r * stride)..<(r * stride + used)]), "inter \(inter) layout \(layout) row \(r)")
                }
            }
        }
    }

    func testApplyGatedEqualsSiluMulThenApply() {
        var rng = Rng(state: 9)
        let inter = 576, out = 80
        for format in [BlockFormat.q4_0, .q4_1, .q8_0] {
            let m = QuantizedMultiplyTests.makeMatrix(format, rows: out, columns: inter, rng: &rng)
            let bias = FloatBuffer(count: out)
            for i in 0..<out { bias.pointer[i] = Float(i) * 0.01 }
            let linear = Linear(inFeatures: inter, outFeatures: out, storage: .quantized(m), bias: bias, owner: m)
            for n in [1, 4, 7] {
                let gu = gateUp(rows: n, inter: inter, rng: &rng)
                for precision in ActivationPrecision.allCases {
                    var act = [Float](repeating: 0, count: n * inter), scratch = act
                    var want = [Float](repeating: 0, count: n * out), got = want
                    Ops.siluMul(gu, rows: n, inter: inter, into: &act)
                    linear.apply(act, rows: n, into: &want, activations: precision)
                    scratch.withUnsafeMutableBufferPointer { s in
                        linear.applyGated(gu, rows: n, scratch: s.baseAddress!, into: &got, activations: precision)
                    }
                    XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern), "\(format) n \(n) \(precision)")
                }
            }
        }
    }

    // Byte sizes of the plain and grouped layouts (CKernels/q8_layout.h).
    private func plainBytes(_ blocks: Int) -> Int {
        let bq = (blocks + 3) & ~3
        return bq * 64 + ((bq + 15) & ~15) * 4
    }

    private func groupedBytes(_ blocks: Int) -> Int {
        blocks / 16 * 768 + (blocks % 16 > 0 ? plainBytes(blocks % 16) : 0)
    }
}
