import CKernels
import Foundation


/// This machine's limits, measured in the same run as the engine: memory read
/// bandwidth over all worker threads and sgemm throughput; optionally the read bandwidth
/// of a buffer the size of a model's weights (what those weights can really be streamed
/// at when they fit a cache) and the int8 multiply-add peak of the q8 products.
public struct Roofline: Codable, Sendable {
    /// A buffer larger than any cache: DRAM.
    public var bandwidthGBs: Double
    public var gflops: Double
    /// Reading a `workingSetBytes` buffer over and over (0: not measured). Above
    /// `bandwidthGBs` when that buffer fits in the caches.
    public var workingSetBandwidthGBs: Double = 0
    public var workingSetBytes: Int = 0
    /// vpdpbusd multiply-adds, as 2 ops each, per second on every worker (0: no VNNI).
    public var int8Gops: Double = 0
    enum CodingKeys: String, CodingKey {
        case bandwidthGBs = "bandwidth_gbs", gflops, workingSetBandwidthGBs = "working_set_bandwidth_gbs"
        case workingSetBytes = "working_set_bytes", int8Gops = "int8_gops"
    }

    /// What a step's weights can be read at: the faster of DRAM and the working-set buffer.
    public var weightBandwidthGBs: Double { max(bandwidthGBs, workingSetBandwidthGBs) }

    /// `workingSetBytes`: also measure reading a buffer of that size (a model's weight bytes).
    public static func measure(workingSetBytes: Int? = nil) -> Roofline {
        var r = Roofline(bandwidthGBs: measureBandwidth(), gflops: max(measureGemm(), measureFMA(), measureFMA512()))
        if let w = workingSetBytes, w > 0 {
            r.workingSetBytes = w
            r.workingSetBandwidthGBs = measureBandwidth(bytes: w)
        }
        r.int8Gops = measureInt8()
        return r
    }

    /// The best of this and a fresh measurement, each figure: all move with other tenants'
    /// load on a shared host, and a fraction taken against one slow measurement can pass 1.
    /// Benchmarks call it between their timed runs.
    public func remeasured() -> Roofline {
        let again = Roofline.measure(workingSetBytes: workingSetBytes > 0 ? workingSetBytes : nil)
        var r = self
        r.bandwidthGBs = max(bandwidthGBs, again.bandwidthGBs)
        r.gflops = max(gflops, again.gflops)
        r.workingSetBandwidthGBs = max(workingSetBandwidthGBs, again.workingSetBandwidthGBs)
        r.int8Gops = max(int8Gops, again.int8Gops)
        return r
    }

    /// Register-resident vpdpbusd throughput on every worker; best of 3. 0 without VNNI.
    static func measureInt8() -> Double {
        guard ck_vnni_available() != 0 else { return 0 }
        let threads = WorkerPool.shared.threadCount
        let iterations = 4_000_000
        var best = 0.0, sink: Int32 = 0
        for _ in 0..<3 {
            let t0 = Date()
            WorkerPool.shared.parallelFor(count: threads) { lo, hi in
                for _ in lo..<hi { sink &+= ck_vnni_peak_loop(iterations) }
            }
            let ops = Double(threads * iterations) * 12 * 64 * 2
            best = max(best, ops / Date().timeIntervalSince(t0) / 1e9)
        }
        if sink == 42 { print("") }
        return best
    }

    /// Streams a `bytes` buffer (default 256 MiB, far beyond the L3) with SIMD loads on
    /// every worker, re-reading a smaller one until 256 MiB have been read; best of 5.
    static func measureBandwidth(bytes: Int = 256 << 20) -> Double {
        let count = max(1 << 16, bytes / 4 / (1 << 16) * (1 << 16))   // floats, whole 256 KiB chunks
        let passes = max(1, (64 << 20) / count)
        let buffer = FloatBuffer(count: count)
        for i in stride(from: 0, to: count, by: 1024) { buffer[i] = Float(i & 7) }
        let base = buffer.pointer
        var best = 0.0
        var sink: Float = 0
        for _ in 0..<5 {
            let partial = FloatBuffer(count: count >> 16)   // one slot per chunk
            let t0 = Date()
            for _ in 0..<passes {
                WorkerPool.shared.parallelFor(count: count, grain: 1 << 16) { lo, hi in
                    var acc = SIMD16<Float>()
                    var i = lo
                    let raw = UnsafeRawPointer(base)
                    while i + 64 <= hi {
                        acc += raw.load(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                        acc += raw.load(fromByteOffset: i * 4 + 64, as: SIMD16<Float>.self)
                        acc += raw.load(fromByteOffset: i * 4 + 128, as: SIMD16<Float>.self)
                        acc += raw.load(fromByteOffset: i * 4 + 192, as: SIMD16<Float>.self)
                        i += 64
                    }
                    partial[lo >> 16] += acc.sum()
                }
            }
            let s = Date().timeIntervalSince(t0)
            best = max(best, Double(count * 4 * passes) / s / 1e9)
            sink += partial[0]
        }
        if sink.isNaN { print("") }
        return best
    }

    /// Register-resident AVX2 FMA throughput on every worker (the peak of the code this
    /// package generates), so the compute bound does not hinge on OpenBLAS picking a
    /// good kernel for this CPU; best of 3.
    static func measureFMA() -> Double {
        let threads = WorkerPool.shared.threadCount
        let iterations = 20_000_000 / threads
        let sink = FloatBuffer(count: threads * 8)
        var best = 0.0
        for _ in 0..<3 {
            let t0 = Date()
            WorkerPool.shared.parallelFor(count: threads) { lo, hi in
                for t in lo..<hi {
                    // 10 independent chains cover FMA latency × ports.
                    var a0 = SIMD8<Float>(repeating: Float(t)), a1 = a0, a2 = a0, a3 = a0, a4 = a0
                    var a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0
                    let m = SIMD8<Float>(repeating: 0.999_999), c = SIMD8<Float>(repeating: 1e-7)
                    for _ in 0..<iterations {
                        a0.addProduct(c, m); a1.addProduct(c, m); a2.addProduct(c, m); a3.addProduct(c, m)
                        a4.addProduct(c, m); a5.addProduct(c, m); a6.addProduct(c, m); a7.addProduct(c, m)
                        a8.addProduct(c, m); a9.addProduct(c, m)
                    }
                    let s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9
                    UnsafeMutableRawPointer(sink.pointer + t * 8).storeBytes(of: s, as: SIMD8<Float>.self)
                }
            }
            let flops = Double(threads * iterations) * 10 * 16
            best = max(best, flops / Date().timeIntervalSince(t0) / 1e9)
        }
        return best
    }

    /// sgemm 1024³ as the engine runs it (single-threaded OpenBLAS per column slice,
    /// slices over the worker pool); best of 3.
    static func measureGemm() -> Double {
        let n = 1024
        let a = FloatBuffer(count: n * n), b = FloatBuffer(count: n * n), c = FloatBuffer(count: n * n)
        for i in 0..<(n * n) { a[i] = Float(i % 13) * 0.01; b[i] = Float(i % 7) * 0.02 }
        var best = 0.0
        for _ in 0..<3 {
            let t0 = Date()
            // c[:, lo..<hi] = a · bᵀ[:, lo..<hi], b read as [n, n] rows = output columns.
            WorkerPool.shared.parallelFor(count: n, grain: 64) { lo, hi in
                BLAS.sgemmNT(m: n, n: hi - lo, k: n, a: a.pointer, lda: n, b: b.pointer + lo * n, ldb: n,
                             c: c.pointer + lo, ldc: n)
            }
            best = max(best, 2 * Double(n * n * n) / Date().timeIntervalSince(t0) / 1e9)
        }
        return best
    }
}
