import XCTest
@testable import Kernels

/// QuantizedMatrix.multiply against a plain f32 reference: rows dequantised with
/// an independent scalar decoder (written from the llama.cpp block layouts), then
/// one scalar dot per output. Tolerance: |Δ| ≤ 1e-5 · Σ|w·x| per output.
final class QuantizedMultiplyTests: XCTestCase {
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        mutating func float() -> Float { Float(next() % 2_000_001) / 1_000_000 - 1 }   // [-1, 1]
        mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    }

    /// Random blocks: scales in [0.001, 0.05], offsets in [-0.5, 0.5], random payloads.
    static func makeMatrix(_ format: BlockFormat, rows: Int, columns: Int, rng: inout Rng) -> QuantizedMatrix {
        let bytes = rows * columns / 32 * format.blockBytes
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let p = raw.bindMemory(to: UInt8.self, capacity: bytes)
        for i in 0..<bytes { p[i] = rng.byte() }
        for b in 0..<(rows * columns / 32) {
            let blk = raw + b * format.blockBytes
            let d = Float16(0.001 + Float(rng.next() % 1000) / 1000 * 0.049)
            blk.storeBytes(of: d.bitPattern, toByteOffset: 0, as: UInt16.self)
            if format == .q4_1 {
                blk.storeBytes(of: Float16(rng.float() * 0.5).bitPattern, toByteOffset: 2, as: UInt16.self)
            }
        }
        return QuantizedMatrix(format: format, rows: rows, columns: columns, data: UnsafeRawPointer(raw),
                               owner: RawAllocation(raw))
    }

    /// Scalar decode of one row, straight from the block layouts.
    func referenceRow(_ m: QuantizedMatrix, _ r: Int) -> [Float] {
        var out = [Float](repeating: 0, count: m.columns)
        let row = m.data + r * m.rowBytes
        for b in 0..<(m.columns / 32) {
            let blk = row + b * m.format.blockBytes
            let d = Float(Float16(bitPattern: blk.loadUnaligned(as: UInt16.self)))
            for j in 0..<32 {
                switch m.format {
                case .q8_0:
                    out[b * 32 + j] = Float(blk.load(fromByteOffset: 2 + j, as: Int8.self)) * d
                case .q4_0:
                    let byte = blk.load(fromByteOffset: 2 + j % 16, as: UInt8.self)
                    let q = j < 16 ? byte & 15 : byte >> 4
                    out[b * 32 + j] = (Float(q) - 8) * d
                case .q4_1:
                    let mv = Float(Float16(bitPattern: blk.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
                    let byte = blk.load(fromByteOffset: 4 + j % 16, as: UInt8.self)
                    let q = j < 16 ? byte & 15 : byte >> 4
                    out[b * 32 + j] = Float(q) * d + mv
                }
            }
        }
        return out
    }

    func check(_ format: BlockFormat, rows: Int, columns: Int, ns: [Int], viaTiles: Bool = false) {
        var rng = Rng(state: 42 &+ UInt64(columns) &* 31 &+ UInt64(format.blockBytes))
        let m = Self.makeMatrix(format, rows: rows, columns: columns, rng: &rng)
        let weights = (0..<rows).map { referenceRow(m, $0) }
        // dequantizeRow agrees with the scalar decode (up to FMA rounding).
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: columns)
        defer { buf.deallocate() }
        for r in [0, rows / 2, rows - 1] {
            m.dequantizeRow(r, into: buf)
            var worst: Float = 0
            for c in 0..<columns { worst = max(worst, abs(buf[c] - weights[r][c]) / max(1e-3, abs(weights[r][c]))) }
            XCTAssertLessThanOrEqual(worst, 1e-6, "\(format) dequantizeRow row \(r)")
        }
        for n in ns {
            let x = (0..<(n * columns)).map { _ in rng.float() }
            var y = [Float](repeating: .nan, count: n * rows)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    if viaTiles {
                        m.multiplyByTiles(xp.baseAddress!, rows: n, into: yp.baseAddress!)
                    } else {
                        m.multiply(xp.baseAddress!, rows: n, into: yp.baseAddress!)
                    }
                }
            }
            var worst: Float = 0
            for i in 0..<n {
                for o in 0..<rows {
                    var dot: Float = 0, mag: Float = 0
                    for c in 0..<columns {
                        let t = weights[o][c] * x[i * columns + c]
                        dot += t
                        mag += abs(t)
                    }
                    let e = abs(y[i * rows + o] - dot) / mag
                    worst = e.isNaN ? .infinity : max(worst, e)
                }
            }
            XCTAssertLessThanOrEqual(worst, 1e-5, "\(format) n=\(n) columns=\(columns): relative error \(worst)")
        }
    }

    func testQ4_0AllDecodeRowCounts() { check(.q4_0, rows: 75, columns: 192, ns: Array(1...16)) }
    func testQ4_1AllDecodeRowCounts() { check(.q4_1, rows: 75, columns: 192, ns: Array(1...16)) }
    func testQ8_0AllDecodeRowCounts() { check(.q8_0, rows: 75, columns: 192, ns: Array(1...16)) }

    /// Prefill-sized batches: through `multiply` (sgemm tiles when OpenBLAS has a real
    /// kernel for this CPU, register tiles otherwise) and through the sgemm tiles directly.
    func testPrefillPathsMatch() {
        for f in [BlockFormat.q4_0, .q4_1, .q8_0] {
            check(f, rows: 133, columns: 96, ns: [QuantizedMatrix.gemmThreshold, 37])
            check(f, rows: 133, columns: 96, ns: [5, 40], viaTiles: true)
        }
    }

    /// Both kernel families against the reference, whatever this CPU picks by default:
    /// the AVX2 Swift kernels (what Zen3 runs) and, where the CPU has it, AVX-512 (CKernels).
    func checkAllFormats() {
        for f in [BlockFormat.q4_0, .q4_1, .q8_0] {
            check(f, rows: 75, columns: 192, ns: Array(1...17))
            check(f, rows: 40, columns: 1536, ns: [1, 4, 9])
        }
    }

    func testAVX2KernelsMatchReference() {
        let saved = QuantizedMatrix.useWideKernels
        defer { QuantizedMatrix.useWideKernels = saved }
        QuantizedMatrix.useWideKernels = false
        checkAllFormats()
    }

    func testAVX512KernelsMatchReference() throws {
        try XCTSkipUnless(QuantizedMatrix.wideKernelsAvailable, "no AVX-512 on this CPU")
        let saved = QuantizedMatrix.useWideKernels
        defer { QuantizedMatrix.useWideKernels = saved }
        QuantizedMatrix.useWideKernels = true
        checkAllFormats()
    }

    /// f32 weights (`multiplyF32`, the decode path of f32 checkpoints below `Linear.gemmRows`):
    /// the AVX2 tiles and, for 2 rows and more, the AVX-512 kernel (groups of ≤ 8 rows), both
    /// against the scalar dot, at every row count up to 17 and two row widths.
    func testF32KernelsMatchReference() {
        let saved = QuantizedMatrix.useWideKernels
        defer { QuantizedMatrix.useWideKernels = saved }
        var rng = Rng(state: 7)
        for (rows, columns) in [(75, 192), (37, 1536)] {
            let w = (0..<(rows * columns)).map { _ in rng.float() }
            for wide in QuantizedMatrix.wideKernelsAvailable ? [false, true] : [false] {
                QuantizedMatrix.useWideKernels = wide
                for n in 1...17 {
                    let x = (0..<(n * columns)).map { _ in rng.float() }
                    var y = [Float](repeating: .nan, count: n * rows)
                    w.withUnsafeBufferPointer { wp in
                        x.withUnsafeBufferPointer { xp in
                            y.withUnsafeMutableBufferPointer { yp in
                                QuantizedMatrix.multiplyF32(wp.baseAddress!, rows: rows, columns: columns, xp.baseAddress!,
                                                            n: n, into: yp.baseAddress!)
                            }
                        }
                    }
                    var worst: Float = 0
                    for i in 0..<n {
                        for o in 0..<rows {
                            var dot: Float = 0, mag: Float = 0
                            for c in 0..<columns {
                                let t = w[o * columns + c] * x[i * columns + c]
                                dot += t
                                mag += abs(t)
                            }
                            let e = abs(y[i * rows + o] - dot) / mag
                            worst = e.isNaN ? .infinity : max(worst, e)
                        }
                    }
                    XCTAssertLessThanOrEqual(worst, 1e-5, "f32 wide \(wide) n=\(n) \(rows)×\(columns): relative error \(worst)")
                }
            }
        }
    }

    /// Long rows (the FFN down projection's width) with chunking at few rows per chunk.
    func testWideRows() { check(.q4_1, rows: 40, columns: 1536, ns: [1, 4, 9]) }

    /// `Linear.warmRegion` names the tail of the bytes the next decode product streams:
    /// the GGUF rows with f32 activations, the row-tile copy in q8 mode on VNNI once a
    /// product made it (none before), at most `maxBytes`; and a pool job asked to warm it
    /// still covers every row exactly once with the same results.
    /// The warm region starts where the pool's worker starts reading (`workerStart`: its
    /// first claim from the back, or the middle of a split row-tile product), lies inside
    /// the streamed weights, and warming never changes a product.
    func testWarmRegionIsWhereTheWorkerStarts() {
        var rng = Rng(state: 7)
        let m = Self.makeMatrix(.q4_1, rows: 96, columns: 64, rng: &rng)
        let layer = Linear(inFeatures: 64, outFeatures: 96, storage: .quantized(m), bias: nil, owner: m)
        let start = Int(Double(m.byteCount) * WorkerPool.shared.workerStart(mergeRuns: false)) & ~63
        let f32 = layer.warmRegion(activations: .f32, maxBytes: 64)!
        XCTAssertEqual(UnsafeRawPointer(f32.baseAddress!), m.data + start)
        XCTAssertEqual(f32.count, 64)
        let whole = layer.warmRegion(activations: .f32, maxBytes: 1 << 20)!
        XCTAssertEqual(UnsafeRawPointer(whole.baseAddress!) + whole.count, m.data + m.byteCount, "up to the end, no further")
        XCTAssertNil(layer.warmRegion(activations: .f32, maxBytes: 0))
        XCTAssertEqual(WorkerPool(threads: 2).workerStart(mergeRuns: true), WorkerPool.splitRanges ? 0.5 : 0.75)
        XCTAssertEqual(WorkerPool(threads: 4).workerStart(mergeRuns: true), 0.875)

        let x = (0..<(4 * 64)).map { _ in rng.float() }
        var plain = [Float](repeating: 0, count: 4 * 96), warmed = plain
        x.withUnsafeBufferPointer { xb in
            plain.withUnsafeMutableBufferPointer { layer.apply(xb.baseAddress!, rows: 4, into: $0.baseAddress!, activations: .q8) }
            let region = layer.warmRegion(activations: .q8)
            if QuantizedMatrix.vnniAvailable && QuantizedMatrix.usePackedWeights {
                XCTAssertNotNil(region, "the row tiles exist after a q8 product")
                XCTAssertFalse(region.map { UnsafeRawPointer($0.baseAddress!) == m.data + m.byteCount - $0.count } ?? true,
                               "the q8 region is the tile copy, not the GGUF rows")
            }
            warmed.withUnsafeMutableBufferPointer {
                layer.apply(xb.baseAddress!, rows: 4, into: $0.baseAddress!, activations: .q8, thenWarm: region)
            }
        }
        XCTAssertEqual(plain, warmed)
    }
}
