import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A persistent pool of worker threads for the decode loop's many small parallel
/// loops (hundreds per token). Workers spin briefly on a generation counter before
/// sleeping, so a job starts in well under a microsecond when calls come back to
/// back; `DispatchQueue.concurrentPerform` costs tens of microseconds per call.
/// The calling thread always takes the first share itself.
public final class WorkerPool: @unchecked Sendable {
    public static let shared = WorkerPool(threads: WorkerPool.defaultThreadCount)

    public static var defaultThreadCount: Int {
        if let s = getenv("SPRIG_THREADS"), let n = Int(String(cString: s)), n >= 1 { return min(n, 64) }
        return max(1, min(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 64))
    }

    public let threadCount: Int
    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let shareCount = Atomic<Int>(0)
    private var job: ((Int) -> Void)?           // argument: worker index in [1, threadCount)
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var sleepers = 0

    public init(threads: Int) {
        threadCount = max(1, threads)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
        for index in 1..<threadCount {
            let box = Unmanaged.passRetained(WorkerStart(pool: self, index: index))
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { arg in
                let start = Unmanaged<WorkerStart>.fromOpaque(arg!).takeRetainedValue()
                start.pool.workerLoop(index: start.index)
                return nil
            }, box.toOpaque())
            precondition(rc == 0, "pthread_create failed")
            pthread_detach(thread)
        }
    }

    /// Runs `body(lo, hi)` over [0, count) split into one contiguous share per
    /// thread (share boundaries rounded to `grain`). Returns when all are done.
    public func parallelFor(count: Int, grain: Int = 1, _ body: (Int, Int) -> Void) {
        let shares = min(threadCount, max(1, (count + grain - 1) / max(grain, 1)))
        if shares <= 1 {
            if count > 0 { body(0, count) }
            return
        }
        let per = ((count + shares - 1) / shares + grain - 1) / grain * grain
        withoutActuallyEscaping(body) { escapable in
            let run: (Int) -> Void = { w in
                let lo = w * per, hi = min(count, lo + per)
                if lo < hi { escapable(lo, hi) }
            }
            job = run
            pending.store(shares - 1, ordering: .releasing)
            shareCount.store(shares, ordering: .releasing)
            pthread_mutex_lock(&mutex)
            generation.add(1, ordering: .releasing)
            if sleepers > 0 { pthread_cond_broadcast(&cond) }
            pthread_mutex_unlock(&mutex)
            run(0)
            // Workers with index ≥ shares neither read the job nor decrement `pending`.
            while pending.load(ordering: .acquiring) > 0 { spinPause() }
            job = nil
        }
    }

    private func workerLoop(index: Int) {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins < 20_000 { spinPause(); continue }
                pthread_mutex_lock(&mutex)
                sleepers += 1
                while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(&cond, &mutex) }
                sleepers -= 1
                pthread_mutex_unlock(&mutex)
            }
            seen = generation.load(ordering: .acquiring)
            let shares = shareCount.load(ordering: .acquiring)
            if index < shares {
                // Call through the property without binding a local: the closure must not
                // outlive `parallelFor` (withoutActuallyEscaping checks that).
                job?(index)
                pending.subtract(1, ordering: .releasing)
            }
        }
    }

    @inline(__always) private func spinPause() {
        #if arch(x86_64)
        _ = 0   // a compiler barrier is enough here; the load above is atomic
        #endif
    }
}

private final class WorkerStart {
    let pool: WorkerPool
    let index: Int
    init(pool: WorkerPool, index: Int) { self.pool = pool; self.index = index }
}
