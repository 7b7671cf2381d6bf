import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A persistent pool of worker threads for the decode loop's many small parallel
/// loops (hundreds per token).
///
/// Work is handed out in chunks that threads claim from a shared counter, and the
/// calling thread works too: if a worker is slow to wake or descheduled (the cores
/// are shared), the caller simply takes its chunks and never waits for a thread
/// that has not started. It waits only for chunks already claimed.
/// Workers spin briefly on a generation counter before sleeping, so a job starts in
/// well under a microsecond when calls come back to back.
public final class WorkerPool: @unchecked Sendable {
    public static let shared: WorkerPool = {
        BLAS.singleThreaded
        return WorkerPool(threads: WorkerPool.defaultThreadCount)
    }()

    public static var defaultThreadCount: Int {
        if let s = getenv("SPRIG_THREADS"), let n = Int(String(cString: s)), n >= 1 { return min(n, 64) }
        return max(1, min(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 64))
    }

    public let threadCount: Int
    private let generation = Atomic<Int>(0)
    /// Next unclaimed chunk index of the current job.
    private let nextChunk = Atomic<Int>(0)
    /// Workers inside the current job, plus `closedBit` once the caller has finished
    /// its own chunks: after that no worker may enter, so the job can be torn down
    /// as soon as the count reaches zero.
    private let entered = Atomic<Int>(0)
    private static let closedBit = 1 << 40
    /// Set while a job runs; a nested or concurrent `parallelFor` runs inline instead.
    private let busy = Atomic<Bool>(false)
    private var job: ((Int, Int) -> Void)?
    private var jobCount = 0, jobGrain = 1, chunkCount = 0
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
                start.pool.workerLoop()
                return nil
            }, box.toOpaque())
            precondition(rc == 0, "pthread_create failed")
            pthread_detach(thread)
        }
    }

    /// Runs `body(lo, hi)` over disjoint ranges [lo, hi) that together cover
    /// [0, count): chunks of `grain` (the last may be shorter), each run exactly once
    /// on some thread, the caller included. Returns when all are done.
    /// A call made from inside a running job (or concurrently from another thread)
    /// runs serially on the calling thread.
    public func parallelFor(count: Int, grain: Int = 1, _ body: (Int, Int) -> Void) {
        guard count > 0 else { return }
        let g = max(grain, 1)
        let chunks = (count + g - 1) / g
        if chunks <= 1 || threadCount == 1
            || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            body(0, count)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            // Stored as is (no wrapping closure, so no allocation per call).
            job = escapable
            jobCount = count
            jobGrain = g
            chunkCount = chunks
            nextChunk.store(0, ordering: .relaxed)
            entered.store(0, ordering: .releasing)
            pthread_mutex_lock(&mutex)
            generation.add(1, ordering: .releasing)
            if sleepers > 0 { pthread_cond_broadcast(&cond) }
            pthread_mutex_unlock(&mutex)
            drain(escapable, count: count, grain: g, chunks: chunks)
            // Close the job, then wait for workers still finishing a claimed chunk.
            entered.add(Self.closedBit, ordering: .acquiringAndReleasing)
            // A worker preempted mid-chunk (shared cores) would keep this thread spinning
            // for a whole time slice: after a short spin, yield the core to it instead.
            var spins = 0
            while entered.load(ordering: .acquiring) != Self.closedBit {
                spins += 1
                if spins > 2_000 { sched_yield() }
            }
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }

    @inline(__always)
    private func drain(_ run: (Int, Int) -> Void, count: Int, grain: Int, chunks: Int) {
        while true {
            let c = nextChunk.add(1, ordering: .relaxed).oldValue
            if c >= chunks { return }
            run(c * grain, min(count, c * grain + grain))
        }
    }

    private func workerLoop() {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins < 30_000 { continue }
                pthread_mutex_lock(&mutex)
                sleepers += 1
                while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(&cond, &mutex) }
                sleepers -= 1
                pthread_mutex_unlock(&mutex)
            }
            seen = generation.load(ordering: .acquiring)
            // Enter only while the job of generation `seen` is open. A worker that
            // wakes after the caller closed it (or after a newer job started and the
            // count was reset) sees the closed bit or a different generation.
            var cur = entered.load(ordering: .acquiring)
            var joined = false
            while cur & Self.closedBit == 0 {
                let r = entered.compareExchange(expected: cur, desired: cur + 1, ordering: .acquiringAndReleasing)
                if r.exchanged { joined = true; break }
                cur = r.original
            }
            guard joined else { continue }
            if generation.load(ordering: .acquiring) == seen, let run = job {
                // `job` is only read between entering and leaving, while the caller waits.
                drain(run, count: jobCount, grain: jobGrain, chunks: chunkCount)
            }
            entered.subtract(1, ordering: .releasing)
        }
    }
}

private final class WorkerStart {
    let pool: WorkerPool
    let index: Int
    init(pool: WorkerPool, index: Int) { self.pool = pool; self.index = index }
}
