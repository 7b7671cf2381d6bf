import CKernels
import Foundation

/// Run-time choice of the AVX-512 kernels (CKernels) for the block formats. The Swift
/// kernels (QuantizedKernels.swift, AVX2 + FMA) stay the fallback on CPUs without
/// AVX-512 (Zen3) or with SPRIG_NO_AVX512=1, and the reference the wide ones are tested
/// against. Same arithmetic (f32 activations, w = q·d + m), 16 lanes instead of 8:
/// about half the instructions per weight.
extension QuantizedMatrix {
    /// True when this CPU and OS run AVX-512 (F, BW, VL) and SPRIG_NO_AVX512 is unset.
    public static let wideKernelsAvailable = ck_avx512_available() != 0

    /// Whether `multiply` uses the AVX-512 kernels for decode-sized batches. Starts as
    /// `wideKernelsAvailable`; tests turn it off to check the AVX2 path on this machine.
    nonisolated(unsafe) public static var useWideKernels = wideKernelsAvailable

    var formatCode: Int32 {
        switch format { case .q4_0: 0; case .q4_1: 1; case .q8_0: 2 }
    }

    /// y[n, rows] = x[n, columns] · Wᵀ with the AVX-512 kernels: one row through the
    /// scaled-once kernel (q4 on `nibbleActivations`), more rows in groups of ≤ 8
    /// sharing each decoded block. Output rows split over the worker pool.
    func multiplyWide(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>,
                      thenWarm: UnsafeRawBufferPointer? = nil) {
        let blocks = columns / 32, columns = self.columns, rows = self.rows
        let data = self.data.assumingMemoryBound(to: UInt8.self), rowBytes = self.rowBytes
        let code = formatCode
        let grain = Self.grain(rows: rows, blocks: blocks, n: n)
        if n == 1 {
            if format == .q8_0 {
                WorkerPool.shared.parallelFor(count: rows, grain: grain, thenWarm: thenWarm) { lo, hi in
                    ck_one_row(code, data, rowBytes, Int32(blocks), Int32(lo), Int32(hi), x, x, y)
                }
                return
            }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: columns + blocks) { buffer in
                let xt = buffer.baseAddress!, sums = xt + columns   // [columns], [blocks]
                Self.nibbleActivations(x, columns: columns, into: xt, sums: sums)
                let xtc = UnsafePointer(xt), sumsC = UnsafePointer(sums)
                WorkerPool.shared.parallelFor(count: rows, grain: grain, thenWarm: thenWarm) { lo, hi in
                    ck_one_row(code, data, rowBytes, Int32(blocks), Int32(lo), Int32(hi), xtc, sumsC, y)
                }
            }
            return
        }
        WorkerPool.shared.parallelFor(count: rows, grain: grain, thenWarm: thenWarm) { lo, hi in
            var r = 0
            while r < n {   // groups inside the chunk: its weights stay in cache across groups
                let g = min(8, n - r)
                ck_rows(code, data, rowBytes, Int32(blocks), Int32(lo), Int32(hi), x + r * columns, columns,
                        Int32(g), y + r * rows, rows)
                r += g
            }
        }
    }
}

extension Roofline {
    /// Register-resident AVX-512 FMA throughput on every worker (0 without AVX-512):
    /// when the kernels run 16 lanes, the compute bound must too; best of 3.
    static func measureFMA512() -> Double {
        guard QuantizedMatrix.wideKernelsAvailable else { return 0 }
        let threads = WorkerPool.shared.threadCount
        let iterations = 10_000_000 / threads
        let sink = FloatBuffer(count: threads)
        var best = 0.0
        for _ in 0..<3 {
            let t0 = Date()
            WorkerPool.shared.parallelFor(count: threads) { lo, hi in
                for t in lo..<hi { sink[t] = ck_fma_loop512(iterations) }
            }
            let flops = Double(threads * iterations) * 16 * 16 * 2
            best = max(best, flops / Date().timeIntervalSince(t0) / 1e9)
        }
        return best
    }
}
