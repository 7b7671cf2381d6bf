import XCTest
@testable import Kernels

/// The int8-activation kernels (`multiply(..., activations: .q8)`) against a scalar
/// reference of the same int8 math: activations quantized per block of 32
/// (dx = max|x|/127, xq = round-half-even(x · (1/dx)), s = dx·Σxq), integer block dots
/// I_k = Σ q·xq (Q4: q in 0…15, Q8_0: signed q), y = Σ_k d_k·dx_k·I_k + off_k·s_k
/// (off = m for Q4_1, −8d for Q4_0, 0 for Q8_0), summed in Double.
/// The quantized activations must match bit for bit; outputs to 1e-6 · Σ |products|
/// (only the f32 rounding of d·dx, the int→float conversion being exact, and the order of
/// the f32 sums differ).
final class Q8ActivationKernelTests: XCTestCase {
    typealias Rng = QuantizedMultiplyTests.Rng

    struct QuantizedRow { var xq: [Int8]; var dx: [Float]; var s: [Float] }

    /// Scalar quantization of one activation row.
    func referenceQuantize(_ x: ArraySlice<Float>) -> QuantizedRow {
        let x = Array(x)
        var out = QuantizedRow(xq: [], dx: [], s: [])
        for b in 0..<(x.count / 32) {
            let blk = x[(b * 32)..<(b * 32 + 32)]
            let amax = blk.map { abs($0) }.max()!
            let dx = amax / 127, id: Float = dx != 0 ? 1 / dx : 0
            var sum = 0
            for v in blk {
                let q = min(127, max(-127, (v * id).rounded(.toNearestOrEven)))
                out.xq.append(Int8(q))
                sum += Int(q)
            }
            out.dx.append(dx)
            out.s.append(dx * Float(sum))
        }
        return out
    }

    /// Σ_k terms of one output in Double, and the tolerance's scale: Σ_k d_k·dx_k·Σ_j |q_j·xq_j|
    /// + |off_k·s_k| (per product, like QuantizedMultiplyTests' Σ|w·x|: the kernels round
    /// lane partial sums of 4 products, which can exceed |I_k|).
    func referenceDot(_ m: QuantizedMatrix, row o: Int, _ a: QuantizedRow) -> (Double, Double) {
        var y = 0.0, mag = 0.0
        let row = m.data + o * m.rowBytes
        for b in 0..<(m.columns / 32) {
            let blk = row + b * m.format.blockBytes
            let d = Float(Float16(bitPattern: blk.loadUnaligned(as: UInt16.self)))
            var dot = 0, absDot = 0
            var off: Float = 0
            for j in 0..<32 {
                let q: Int
                switch m.format {
                case .q8_0: q = Int(blk.load(fromByteOffset: 2 + j, as: Int8.self))
                case .q4_0, .q4_1:
                    let byte = blk.load(fromByteOffset: (m.format == .q4_1 ? 4 : 2) + j % 16, as: UInt8.self)
                    q = Int(j < 16 ? byte & 15 : byte >> 4)
                }
                dot += q * Int(a.xq[b * 32 + j])
                absDot += abs(q * Int(a.xq[b * 32 + j]))
            }
            switch m.format {
            case .q4_0: off = -8 * d
            case .q4_1: off = Float(Float16(bitPattern: blk.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            case .q8_0: off = 0
            }
            let t1 = Double(d) * Double(a.dx[b]) * Double(dot), t2 = Double(off) * Double(a.s[b])
            y += t1 + t2
            mag += Double(d) * Double(a.dx[b]) * Double(absDot) + abs(t2)
        }
        return (y, mag)
    }

    /// Activations with a few large outliers (as real hidden states have) and a zero block.
    func activations(_ count: Int, rng: inout Rng) -> [Float] {
        var x = (0..<count).map { _ in rng.float() }
        for i in stride(from: 5, to: count, by: 97) { x[i] *= 40 }
        if count >= 64 { for i in 32..<64 { x[i] = 0 } }
        return x
    }

    func testQuantizedActivationsMatchReferenceExactly() {
        var rng = Rng(state: 7)
        for columns in [32, 64, 96, 160, 512, 576, 1536, 2080] {   // 16-block groups and tails
            let n = 3
            let x = activations(n * columns, rng: &rng)
            let stride = QuantizedMatrix.q8RowBytes(columns: columns)
            let raw = UnsafeMutableRawPointer.allocate(byteCount: n * stride, alignment: 64)
            defer { raw.deallocate() }
            func quantize(_ layout: QuantizedMatrix.Q8Layout) {
                x.withUnsafeBufferPointer {
                    QuantizedMatrix.quantizeActivations($0.baseAddress!, rows: n, columns: columns, into: raw, layout: layout)
                }
            }
            // The plain layout (AVX2 kernels) and the lanes layout (row tiles); the grouped
            // layout holds the same numbers, checked through the kernels' outputs below.
            let blocks = columns / 32, bq = (blocks + 3) & ~3   // layouts in q8_layout.h
            quantize(.plain)
            for r in 0..<n {
                let ref = referenceQuantize(x[(r * columns)..<((r + 1) * columns)])
                let row = raw + r * stride
                for i in 0..<columns { XCTAssertEqual(row.load(fromByteOffset: i, as: Int8.self), ref.xq[i], "xq[\(i)] columns \(columns)") }
                for b in 0..<blocks {
                    for l in 0..<8 {
                        XCTAssertEqual(row.load(fromByteOffset: bq * 32 + (b * 8 + l) * 4, as: Float.self).bitPattern, ref.dx[b].bitPattern)
                    }
                    XCTAssertEqual(row.load(fromByteOffset: bq * 64 + b * 4, as: Float.self).bitPattern, ref.s[b].bitPattern)
                }
            }
            quantize(.lanes)
            for r in 0..<n {   // xq [blocks·32], then dx, s, −8Σxq, −128Σxq [blocks] each
                let ref = referenceQuantize(x[(r * columns)..<((r + 1) * columns)])
                let row = raw + r * stride
                for i in 0..<columns { XCTAssertEqual(row.load(fromByteOffset: i, as: Int8.self), ref.xq[i], "lanes xq[\(i)]") }
                for b in 0..<blocks {
                    let sum = ref.xq[(b * 32)..<(b * 32 + 32)].reduce(Int32(0)) { $0 + Int32($1) }
                    XCTAssertEqual(row.load(fromByteOffset: blocks * 32 + b * 4, as: Float.self).bitPattern, ref.dx[b].bitPattern)
                    XCTAssertEqual(row.load(fromByteOffset: blocks * 36 + b * 4, as: Float.self).bitPattern, ref.s[b].bitPattern)
                    XCTAssertEqual(row.load(fromByteOffset: blocks * 40 + b * 4, as: Int32.self), -8 * sum)
                    XCTAssertEqual(row.load(fromByteOffset: blocks * 44 + b * 4, as: Int32.self), -128 * sum)
                }
            }
        }
    }

    func check(_ format: BlockFormat, rows: Int, columns: Int, ns: [Int]) {
        var rng = Rng(state: 99 &+ UInt64(columns) &* 17 &+ UInt64(format.blockBytes))
        let m = QuantizedMultiplyTests.makeMatrix(format, rows: rows, columns: columns, rng: &rng)
        for n in ns {
            let x = activations(n * columns, rng: &rng)
            var y = [Float](repeating: .nan, count: n * rows)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in m.multiply(xp.baseAddress!, rows: n, into: yp.baseAddress!, activations: .q8) }
            }
            var worst = 0.0
            for i in 0..<n {
                let a = referenceQuantize(x[(i * columns)..<((i + 1) * columns)])
                for o in 0..<rows {
                    let (ref, mag) = referenceDot(m, row: o, a)
                    let e = abs(Double(y[i * rows + o]) - ref) / max(mag, 1e-30)
                    worst = e.isNaN ? .infinity : max(worst, e)
                }
            }
            XCTAssertLessThanOrEqual(worst, 1e-6, "\(format) n=\(n) columns=\(columns) vnni=\(QuantizedMatrix.useVNNI): relative error \(worst)")
        }
    }

    /// Every format, n = 1…17 (groups of 8 plus remainders), odd and even block counts,
    /// and the FFN width.
    func checkAllFormats() {
        for f in [BlockFormat.q4_0, .q4_1, .q8_0] {
            check(f, rows: 37, columns: 96, ns: Array(1...17))
            check(f, rows: 21, columns: 64, ns: [1, 4, 9])
            for blocks in [1, 3, 4, 5, 7, 16, 17, 31, 33] { check(f, rows: 9, columns: 32 * blocks, ns: [1, 2, 5, 8]) }
            check(f, rows: 19, columns: 1536, ns: [1, 4, 16])
        }
    }

    func testAVX2KernelsMatchIntegerReference() {
        let saved = QuantizedMatrix.useVNNI
        defer { QuantizedMatrix.useVNNI = saved }
        QuantizedMatrix.useVNNI = false
        checkAllFormats()
    }

    func testVNNIKernelsMatchIntegerReference() throws {
        try XCTSkipUnless(QuantizedMatrix.vnniAvailable, "no AVX-512 VNNI on this CPU (or SPRIG_NO_AVX512 set)")
        let saved = QuantizedMatrix.useVNNI
        defer { QuantizedMatrix.useVNNI = saved }
        QuantizedMatrix.useVNNI = true
        let savedPacked = QuantizedMatrix.usePackedWeights
        defer { QuantizedMatrix.usePackedWeights = savedPacked }
        for packed in [true, false] {   // row tiles made at first use, and groups transposed per product
            QuantizedMatrix.usePackedWeights = packed
            checkAllFormats()
        }
    }

    /// The default stays f32: without `activations:` the f32 kernels run (bit-identical to
    /// passing `.f32`), and q8 differs from it (so the switch reaches the kernels).
    func testDefaultIsF32() {
        var rng = Rng(state: 5)
        let m = QuantizedMultiplyTests.makeMatrix(.q4_1, rows: 16, columns: 96, rng: &rng)
        let x = activations(4 * 96, rng: &rng)
        func run(_ a: ActivationPrecision?) -> [Float] {
            var y = [Float](repeating: 0, count: 4 * 16)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    if let a { m.multiply(xp.baseAddress!, rows: 4, into: yp.baseAddress!, activations: a) }
                    else { m.multiply(xp.baseAddress!, rows: 4, into: yp.baseAddress!) }
                }
            }
            return y
        }
        XCTAssertEqual(run(nil).map(\.bitPattern), run(.f32).map(\.bitPattern))
        XCTAssertNotEqual(run(nil), run(.q8))
        XCTAssertEqual(ActivationPrecision.parse(nil), .f32)
        XCTAssertEqual(ActivationPrecision.parse(" Q8 "), .q8)
        XCTAssertNil(ActivationPrecision.parse("int8"))
    }
}
