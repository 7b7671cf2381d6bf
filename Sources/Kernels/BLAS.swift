import CBLAS
#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS calls as the engine makes them: always single-threaded inside one call,
/// with the work split over `WorkerPool` instead. Two thread pools spinning on the
/// same cores (OpenBLAS's and ours) cost more than either saves.
public enum BLAS {
    /// Pins OpenBLAS to one thread per call and stops its idle server threads (they
    /// spin in sched_yield for ~0.1 s after the library loads, competing with the
    /// worker pool for the cores); run once, at the latest when the worker pool starts.
    public static let singleThreaded: Void = {
        openblas_set_num_threads(1)
        // `blas_thread_shutdown_` is exported but not in cblas.h, and the serial and OpenMP
        // builds may lack it: looked up at run time. A later multi-threaded call would
        // restart the threads.
        typealias Shutdown = @convention(c) () -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_thread_shutdown_") {
            _ = unsafeBitCast(symbol, to: Shutdown.self)()
        }
    }()

    /// False when OpenBLAS runs a generic SSE kernel (its DYNAMIC_ARCH build does not
    /// recognise every CPU, e.g. Sapphire Rapids under KVM reports "Prescott"; set
    /// OPENBLAS_CORETYPE=SkylakeX or Haswell before start to fix that). The quantized
    /// prefill path then keeps to its own kernels, which are 2× faster than that sgemm.
    public static let hasFastGemm: Bool = {
        guard let p = openblas_get_corename() else { return false }
        let name = String(cString: p).lowercased()
        let generic = ["prescott", "katmai", "coppermine", "northwood", "core2", "penryn", "dunnington",
                       "nehalem", "atom", "banias", "opteron", "athlon", "barcelona", "unknown"]
        return !generic.contains(where: { name.hasPrefix($0) })
    }()

    /// OpenBLAS's core name ("Haswell", "SkylakeX", "Prescott" ...).
    public static var coreName: String {
        openblas_get_corename().map { String(cString: $0) } ?? "unknown"
    }

    /// c[m, n] = a[m, k] · b[n, k]ᵀ (row-major, leading dimensions in floats).
    @inline(__always)
    public static func sgemmNT(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                               b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        sgemm(CblasTrans, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
    }

    /// c[m, n] = a[m, k] · b[k, n] (row-major, leading dimensions in floats).
    @inline(__always)
    public static func sgemmNN(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                               b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        sgemm(CblasNoTrans, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
    }

    @inline(__always)
    private static func sgemm(_ bLayout: CBLAS_TRANSPOSE, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                              b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        _ = singleThreaded
        cblas_sgemm(CblasRowMajor, CblasNoTrans, bLayout, Int32(m), Int32(n), Int32(k), 1,
                    a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }

    /// y[m] = a[m, k] · x[k] (row-major).
    @inline(__always)
    public static func sgemv(m: Int, k: Int, a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
                             y: UnsafeMutablePointer<Float>) {
        _ = singleThreaded
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(k), 1, a, Int32(lda), x, 1, 0, y, 1)
    }
}
