import Dispatch

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
        for b in 0..<(columns / 32) {
            let blk = base.advanced(by: b * format.blockBytes)
            let o = out + b * 32
            switch format {
            case .q8_0:
                let d = halfAt(blk, 0)
                let q = blk.advanced(by: 2).assumingMemoryBound(to: Int8.self)
                for j in 0..<32 { o[j] = Float(q[j]) * d }
            case .q4_0, .q4_1:
                let d = halfAt(blk, 0)
                let m: Float = format == .q4_1 ? halfAt(blk, 2) : -8 * d
                let qs = blk.advanced(by: format == .q4_1 ? 4 : 2).assumingMemoryBound(to: UInt8.self)
                for j in 0..<16 {
                    o[j] = Float(qs[j] & 0x0F) * d + m
                    o[j + 16] = Float(qs[j] >> 4) * d + m
                }
            }
        }
    }

    /// y[n, rows] = x[n, columns] · Wᵀ, output rows split over the worker pool.
    public func multiply(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>) {
        let blocks = columns / 32
        // Per-row, per-block activation sums: the q4 offset term m·Σx is then one
        // scalar FMA per block instead of one per weight.
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: n * blocks)   // [n, blocks]
        defer { sums.deallocate() }
        if format != .q8_0 {
            for r in 0..<n {
                for b in 0..<blocks {
                    let p = x + r * columns + b * 32
                    let v = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
                        + UnsafeRawPointer(p + 16).loadUnaligned(as: SIMD16<Float>.self)
                    sums[r * blocks + b] = v.sum()
                }
            }
        }
        let sumsC = UnsafePointer(sums)
        WorkerPool.shared.parallelFor(count: self.rows, grain: 16) { lo, hi in
            var r0 = 0
            while r0 < n {
                let nb = min(4, n - r0)   // up to 4 activation rows share one weight decode
                self.kernel(rowRange: lo..<hi, x: x + r0 * self.columns, sums: sumsC + r0 * blocks,
                            n: nb, y: y + r0 * self.rows)
                r0 += nb
            }
        }
    }

    @inline(__always)
    private func halfAt(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// Output rows [lo, hi) for `n` ≤ 4 activation rows.
    @inline(__always)
    private func kernel(rowRange: Range<Int>, x: UnsafePointer<Float>, sums: UnsafePointer<Float>,
                        n: Int, y: UnsafeMutablePointer<Float>) {
        let blocks = columns / 32
        let bb = format.blockBytes
        let rx = UnsafeRawPointer(x)
        for o in rowRange {
            let row = data.advanced(by: o * rowBytes)
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
            for b in 0..<blocks {
                let blk = row.advanced(by: b * bb)
                let d = halfAt(blk, 0)
                var wl: SIMD16<Float>, wh: SIMD16<Float>
                switch format {
                case .q8_0:
                    let ql = blk.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)
                    let qh = blk.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)
                    wl = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: ql)) * d
                    wh = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: qh)) * d
                case .q4_0, .q4_1:
                    let q = blk.loadUnaligned(fromByteOffset: format == .q4_1 ? 4 : 2, as: SIMD16<UInt8>.self)
                    let lo = SIMD16<Int32>(truncatingIfNeeded: q & 0x0F)
                    let hi = SIMD16<Int32>(truncatingIfNeeded: q &>> 4)
                    wl = SIMD16<Float>(lo) * d
                    wh = SIMD16<Float>(hi) * d
                    let m: Float = format == .q4_1 ? halfAt(blk, 2) : -8 * d
                    s0 += m * sums[b]
                    if n > 1 { s1 += m * sums[blocks + b] }
                    if n > 2 { s2 += m * sums[2 * blocks + b] }
                    if n > 3 { s3 += m * sums[3 * blocks + b] }
                }
                let off = b * 128   // 32 floats
                a0.addProduct(wl, rx.loadUnaligned(fromByteOffset: off, as: SIMD16<Float>.self))
                a0.addProduct(wh, rx.loadUnaligned(fromByteOffset: off + 64, as: SIMD16<Float>.self))
                if n > 1 {
                    let p = off + columns * 4
                    a1.addProduct(wl, rx.loadUnaligned(fromByteOffset: p, as: SIMD16<Float>.self))
                    a1.addProduct(wh, rx.loadUnaligned(fromByteOffset: p + 64, as: SIMD16<Float>.self))
                }
                if n > 2 {
                    let p = off + 2 * columns * 4
                    a2.addProduct(wl, rx.loadUnaligned(fromByteOffset: p, as: SIMD16<Float>.self))
                    a2.addProduct(wh, rx.loadUnaligned(fromByteOffset: p + 64, as: SIMD16<Float>.self))
                }
                if n > 3 {
                    let p = off + 3 * columns * 4
                    a3.addProduct(wl, rx.loadUnaligned(fromByteOffset: p, as: SIMD16<Float>.self))
                    a3.addProduct(wh, rx.loadUnaligned(fromByteOffset: p + 64, as: SIMD16<Float>.self))
                }
            }
            y[o] = a0.sum() + s0
            if n > 1 { y[rows + o] = a1.sum() + s1 }
            if n > 2 { y[2 * rows + o] = a2.sum() + s2 }
            if n > 3 { y[3 * rows + o] = a3.sum() + s3 }
        }
    }
}

/// Owns one raw allocation (for permuted or converted weight copies).
public final class RawAllocation: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
    deinit { pointer.deallocate() }
}
