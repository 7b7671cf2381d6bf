import CKernels
import Dispatch
import Synchronization

/// llama.cpp block formats, kept as loaded. 32 weights per block along `in`.
public enum BlockFormat: Sendable {
    case q4_0   // f16 d, 16 B nibbles: w = (q - 8)·d           (18 B / block)
    case q4_1   // f16 d, f16 m, 16 B nibbles: w = q·d + m      (20 B / block)
    case q8_0   // f16 d, 32 × int8: w = q·d                    (34 B / block)

    public var blockBytes: Int {
        switch self { case .q4_0: 18; case .q4_1: 20; case .q8_0: 34 }
    }
    public static let blockSize = 32
}

/// A [out, in] weight matrix in a block format. Rows are contiguous block runs,
/// so a row permutation (used to undo llama.cpp's Q/K interleave) is a row copy.
public final class QuantizedMatrix: @unchecked Sendable {
    public let format: BlockFormat
    public let rows: Int          // out
    public let columns: Int       // in (multiple of 32)
    public let data: UnsafeRawPointer
    private let owner: AnyObject?
    /// The weights re-laid-out as row tiles for the VNNI int8-activation kernel
    /// (`ck_pack_tiles`), made on the first such product; nil until then and for every other path.
    let rowTileCopy = Mutex<HugePageAllocation?>(nil)
    public var rowBytes: Int { columns / BlockFormat.blockSize * format.blockBytes }
    public var byteCount: Int { rows * rowBytes }

    public init(format: BlockFormat, rows: Int, columns: Int, data: UnsafeRawPointer, owner: AnyObject?) {
        precondition(columns % BlockFormat.blockSize == 0)
        self.format = format
        self.rows = rows
        self.columns = columns
        self.data = data
        self.owner = owner
    }

    /// Copies `source` with its rows reordered: row r of the result is row `order[r]` of the source.
    public static func permutingRows(_ source: QuantizedMatrix, order: [Int]) -> QuantizedMatrix {
        precondition(order.count == source.rows)
        let rb = source.rowBytes
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(source.byteCount, 1), alignment: 64)
        for (r, src) in order.enumerated() {
            raw.advanced(by: r * rb).copyMemory(from: source.data.advanced(by: src * rb), byteCount: rb)
        }
        let holder = RawAllocation(raw)
        return QuantizedMatrix(format: source.format, rows: source.rows, columns: source.columns,
                               data: UnsafeRawPointer(raw), owner: holder)
    }

    /// Dequantises row `r` into `out` [columns].
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        let base = data.advanced(by: r * rowBytes)
        switch format {
        case .q4_0: Self.expandRow(Q4_0Decoder.self, base, columns / 32, out)
        case .q4_1: Self.expandRow(Q4_1Decoder.self, base, columns / 32, out)
        case .q8_0: Self.expandRow(Q8_0Decoder.self, base, columns / 32, out)
        }
    }

    @inline(__always)
    private static func expandRow<D: BlockDecoding>(_: D.Type, _ row: UnsafeRawPointer, _ blocks: Int,
                                                   _ out: UnsafeMutablePointer<Float>) {
        let o = UnsafeMutableRawPointer(out)
        for b in 0..<blocks {
            let (q0, q1, q2, q3, d, m) = D.decode(row + b * D.blockBytes)
            let dv = SIMD8<Float>(repeating: d), mv = SIMD8<Float>(repeating: m)
            o.storeBytes(of: scaled(q0, dv, mv, D.hasOffset), toByteOffset: b * 128, as: SIMD8<Float>.self)
            o.storeBytes(of: scaled(q1, dv, mv, D.hasOffset), toByteOffset: b * 128 + 32, as: SIMD8<Float>.self)
            o.storeBytes(of: scaled(q2, dv, mv, D.hasOffset), toByteOffset: b * 128 + 64, as: SIMD8<Float>.self)
            o.storeBytes(of: scaled(q3, dv, mv, D.hasOffset), toByteOffset: b * 128 + 96, as: SIMD8<Float>.self)
        }
    }

    /// Activation-row count from which `multiply` expands weight tiles to f32 and
    /// uses sgemm (prefill) when OpenBLAS has a fast kernel for this CPU
    /// (`BLAS.hasFastGemm`); otherwise the register-tiled kernels read the blocks directly.
    public static let gemmThreshold = 24

    /// Whether a product of `n` activation rows takes the sgemm (prefill) path.
    static func usesGemm(rows n: Int) -> Bool { n >= gemmThreshold && BLAS.hasFastGemm }

    /// y[n, rows] = x[n, columns] · Wᵀ, output rows split over the worker pool.
    /// Decode-sized n never allocates on the heap. `activations: .q8` quantizes x to Q8
    /// blocks and uses the integer kernels (`multiplyQ8`) except on the sgemm prefill path.
    public func multiply(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>,
                         activations: ActivationPrecision = .f32, thenWarm: UnsafeRawBufferPointer? = nil) {
        precondition(n >= 1)
        if Self.usesGemm(rows: n) {
            multiplyByTiles(x, rows: n, into: y)
            return
        }
        if activations == .q8 {
            multiplyQ8(x, rows: n, into: y, thenWarm: thenWarm)
            return
        }
        if Self.useWideKernels {
            multiplyWide(x, rows: n, into: y, thenWarm: thenWarm)
            return
        }
        let blocks = columns / 32
        if n == 1 && format != .q8_0 {
            multiplyOneRowNibbles(x, into: y)
            return
        }
        // Block sums of x serve the one-row kernel's offset term (a lone row is the
        // last one when n % 8 == 1).
        let needSums = format != .q8_0 && n % 8 == 1
        withUnsafeTemporaryAllocation(of: Float.self, capacity: needSums ? n * blocks : 1) { sumsBuffer in
            let sums = sumsBuffer.baseAddress!    // [n, blocks]
            if needSums {
                for r in 0..<n {
                    for b in 0..<blocks {
                        let p = UnsafeRawPointer(x + r * columns + b * 32)
                        var v = p.loadUnaligned(as: SIMD8<Float>.self)
                        v += p.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                        v += p.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
                        v += p.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
                        sums[r * blocks + b] = v.sum()
                    }
                }
            }
            let sumsC = UnsafePointer(sums)
            // One concrete closure per format (not a generic helper): specialised
            // through a generic function, the stdlib's SIMD8 integer→float
            // conversions stop being inlined and run as calls (2× slower).
            let data = self.data, rowBytes = self.rowBytes, columns = self.columns, rows = self.rows
            let grain = Self.grain(rows: rows, blocks: blocks, n: n)
            switch format {
            case .q4_0:
                WorkerPool.shared.parallelFor(count: rows, grain: grain) { lo, hi in
                    Self.dotRows(Q4_0Decoder.self, n: n, data: data, rowBytes: rowBytes, columns: columns,
                                 lo: lo, hi: hi, x: x, sums: sumsC, y: y, yStride: rows)
                }
            case .q4_1:
                WorkerPool.shared.parallelFor(count: rows, grain: grain) { lo, hi in
                    Self.dotRows(Q4_1Decoder.self, n: n, data: data, rowBytes: rowBytes, columns: columns,
                                 lo: lo, hi: hi, x: x, sums: sumsC, y: y, yStride: rows)
                }
            case .q8_0:
                WorkerPool.shared.parallelFor(count: rows, grain: grain) { lo, hi in
                    Self.dotRows(Q8_0Decoder.self, n: n, data: data, rowBytes: rowBytes, columns: columns,
                                 lo: lo, hi: hi, x: x, sums: sumsC, y: y, yStride: rows)
                }
            }
        }
    }

    /// Rows per chunk: ~4096 block·rows of work, but at least ~8 chunks per thread so
    /// a late or descheduled worker leaves little imbalance.
    static func grain(rows: Int, blocks: Int, n: Int) -> Int {
        max(4, min(4096 / max(blocks * n, 1), rows / (WorkerPool.shared.threadCount * 8)) & ~3)
    }

    /// One activation row of a q4 format: activations transformed once
    /// (`nibbleActivations`, on the stack) for the cheaper nibble kernel.
    private func multiplyOneRowNibbles(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let blocks = columns / 32, columns = self.columns, rows = self.rows
        let data = self.data, rowBytes = self.rowBytes
        withUnsafeTemporaryAllocation(of: Float.self, capacity: columns + blocks) { buffer in
            let xt = buffer.baseAddress!, sums = xt + columns   // [columns], [blocks]
            Self.nibbleActivations(x, columns: columns, into: xt, sums: sums)
            let xr = UnsafeRawPointer(xt), sumsC = UnsafePointer(sums)
            let grain = Self.grain(rows: rows, blocks: blocks, n: 1)
            switch format {
            case .q4_0:
                WorkerPool.shared.parallelFor(count: rows, grain: grain) { lo, hi in
                    Self.dotRows1Nibbles(Q4_0Decoder.self, data: data, rowBytes: rowBytes, blocks: blocks,
                                         lo: lo, hi: hi, xt: xr, sums: sumsC, y: y)
                }
            case .q4_1:
                WorkerPool.shared.parallelFor(count: rows, grain: grain) { lo, hi in
                    Self.dotRows1Nibbles(Q4_1Decoder.self, data: data, rowBytes: rowBytes, blocks: blocks,
                                         lo: lo, hi: hi, xt: xr, sums: sumsC, y: y)
                }
            case .q8_0:
                preconditionFailure("q8_0 has no nibbles")
            }
        }
    }

    /// y[n, rows] = x[n, columns] · Wᵀ for f32 weights W [rows, columns] (columns a
    /// multiple of 32) with the same register tiles as the block formats.
    static func multiplyF32(_ w: UnsafePointer<Float>, rows: Int, columns: Int, _ x: UnsafePointer<Float>,
                            n: Int, into y: UnsafeMutablePointer<Float>, thenWarm: UnsafeRawBufferPointer? = nil) {
        precondition(columns % 32 == 0)
        let grain = Self.grain(rows: rows, blocks: columns / 32, n: n)
        if n >= 2 && useWideKernels {
            // AVX-512: 16 lanes per FMA, groups of ≤ 8 rows sharing each weight load. One row
            // keeps the Swift kernel, so single-sequence logits do not move with the CPU.
            WorkerPool.shared.parallelFor(count: rows, grain: grain, thenWarm: thenWarm) { lo, hi in
                var r = 0
                while r < n {   // groups inside the chunk: its weights stay in cache across groups
                    let g = min(8, n - r)
                    ck_rows_f32(w, Int32(columns), Int32(lo), Int32(hi), x + r * columns, columns, Int32(g),
                                y + r * rows, rows)
                    r += g
                }
            }
            return
        }
        let data = UnsafeRawPointer(w)
        WorkerPool.shared.parallelFor(count: rows, grain: grain, thenWarm: thenWarm) { lo, hi in
            // F32 has no offset term, so the block sums are never read.
            dotRows(F32Decoder.self, n: n, data: data, rowBytes: columns * 4, columns: columns,
                    lo: lo, hi: hi, x: x, sums: x, y: y, yStride: rows)
        }
    }

    /// Prefill path: tiles of output rows are expanded to f32 (per worker, reused
    /// across its tiles) and multiplied with a single-threaded sgemm.
    func multiplyByTiles(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>) {
        let tile = 64
        let columns = self.columns, rows = self.rows
        WorkerPool.shared.parallelFor(count: rows, grain: tile) { lo, hi in
            let w = UnsafeMutablePointer<Float>.allocate(capacity: tile * columns)   // [tile, columns]
            defer { w.deallocate() }
            var t = lo
            while t < hi {
                let m = min(tile, hi - t)
                for r in 0..<m { self.dequantizeRow(t + r, into: w + r * columns) }
                BLAS.sgemmNT(m: n, n: m, k: columns, a: x, lda: columns, b: w, ldb: columns,
                             c: y + t, ldc: rows)
                t += m
            }
        }
    }
}

/// Owns one raw allocation (for permuted or converted weight copies).
public final class RawAllocation: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
    deinit { pointer.deallocate() }
}
