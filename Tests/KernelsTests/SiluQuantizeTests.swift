import XCTest
@testable import Kernels

/// The C SiLU·mul (`ck_silu_mul`) equals `Ops.exp`'s steps bit for bit in its 8- and
/// 16-lane forms, and the 16-lane quantizer of the lanes layout writes the same bytes as
/// the 8-lane one (both checked against a scalar reference in Q8ActivationKernelTests).
final class SiluQuantizeTests: XCTestCase {
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

    func testSiluMulMatchesOpsExpBitForBitInBothWidths() throws {
        var rng = Rng(state: 11)
        let widths = QuantizedMatrix.wideKernelsAvailable ? [false, true] : [false]
        for inter in [8, 37, 576] {   // 37: the 8- and 16-lane tails
            let rows = 3
            let gu = gateUp(rows: rows, inter: inter, rng: &rng)
            for wide in widths {
                var out = [Float](repeating: .nan, count: rows * inter)
                Ops.siluMul(gu, rows: rows, inter: inter, into: &out, wide: wide)
                for r in 0..<rows {
                    for i in 0..<inter {
                        let g = gu[r * 2 * inter + i], u = gu[r * 2 * inter + inter + i]
                        let e = Ops.exp(SIMD8<Float>(repeating: -g))[0]
                        let want = g / (1 + e) * u
                        XCTAssertEqual(out[r * inter + i].bitPattern, want.bitPattern, "wide \(wide) row \(r) [\(i)] g \(g)")
                    }
                }
            }
        }
        if widths.count == 1 { throw XCTSkip("no AVX-512: the 16-lane form is not run here") }
    }

    func testWideLanesQuantizerWritesTheSameBytes() throws {
        guard QuantizedMatrix.vnniAvailable else { throw XCTSkip("no AVX-512 VNNI") }
        var rng = Rng(state: 5)
        for columns in [32, 160, 576, 1536] {
            let n = 4
            var x = [Float](repeating: 0, count: n * columns)
            for i in x.indices { x[i] = rng.float() * Float(1 + i % 7) }
            x[3] = 0; x[40] = -0.0   // zeros and an all-small block below
            for i in 0..<min(32, columns) { x[columns + i] = 1e-30 * rng.float() }
            let stride = QuantizedMatrix.q8RowBytes(columns: columns)
            func quantize(wide: Bool) -> [UInt8] {
                var bytes = [UInt8](repeating: wide ? 0xCD : 0xAB, count: n * stride)
                x.withUnsafeBufferPointer { xs in
                    bytes.withUnsafeMutableBytes {
                        QuantizedMatrix.quantizeActivations(xs.baseAddress!, rows: n, columns: columns,
                                                            into: $0.baseAddress!, layout: .lanes, wide: wide)
                    }
                }
                return bytes
            }
            let narrow = quantize(wide: false), wide = quantize(wide: true)
            let used = columns / 32 * 48   // the lanes layout's bytes per row (q8_layout.h)
            for r in 0..<n {
                XCTAssertEqual(Array(wide[(r * stride)..<(r * stride + used)]),
                               Array(narrow[(r * stride)..<(r * stride + used)]), "columns \(columns) row \(r)")
            }
        }
    }
}
