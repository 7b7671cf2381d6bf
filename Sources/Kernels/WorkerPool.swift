import CKernels
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
    /// Most bytes of the next job's data a worker prefetches (`thenWarm`): half an L2.
    /// `SPRIG_WARM_BYTES` overrides it (0: off) for A/B runs.
    public static let maxWarmBytes: Int = {
        if let s = getenv("SPRIG_WARM_BYTES"), let n = Int(String(cString: s)), n >= 0 { return n }
        return 1 << 20
    }()
    private let generation = Atomic<Int>(0)
    /// Unclaimed chunks of the current job, [front, back) packed as front | back << 32:
    /// the caller claims from the front, workers from the back (see `drain`).
    private let claims = Atomic<Int>(0)
    /// Split jobs (`mergeRuns`, two threads): the worker's own range, [front, back) packed
    /// the same way; `claims` is then the caller's.
    private let claims2 = Atomic<Int>(0)
    private var jobSplit = false
    /// Whether `mergeRuns` jobs on two threads give each thread one half to walk forwards
    /// (`drainSplit`); `SPRIG_SPLIT_RANGES=0` keeps the two-ended claims for A/B runs.
    nonisolated(unsafe) public static var splitRanges: Bool = {
        guard let s = getenv("SPRIG_SPLIT_RANGES") else { return true }
        return String(cString: s) != "0"
    }()

    /// Whether `mergeRuns` jobs (of at least 4 chunks) run as two ranges (`drainSplit`).
    private func splitsMergedRuns(_ mergeRuns: Bool) -> Bool { mergeRuns && threadCount == 2 && Self.splitRanges }

    /// Where, as a fraction of a job's range, the worker starts reading: the middle for a
    /// split job, else its first claim from the back (1/(2·threads) of the chunks). What
    /// `thenWarm` should name (`Linear.warmRegion`).
    public func workerStart(mergeRuns: Bool) -> Double {
        splitsMergedRuns(mergeRuns) ? 0.5 : 1 - 1 / Double(2 * threadCount)
    }
    /// Workers inside the current job, plus `closedBit` once the caller has finished
    /// its own chunks: after that no worker may enter, so the job can be torn down
    /// as soon as the count reaches zero.
    private let entered = Atomic<Int>(0)
    private static let closedBit = 1 << 40
    /// Spin iterations (~1 ns each) a caller waits for workers before yielding its core.
    private static let spinsBeforeYield = 50_000
    /// Spin iterations a worker waits for the next job before sleeping: ~0.2 ms, longer
    /// than a search step's sampling and bookkeeping between two forward passes, so the
    /// next pass does not start with a futex wake-up while the caller works alone.
    private static let spinsBeforeSleep = 200_000
    /// Set while a job runs; a nested or concurrent `parallelFor` runs inline instead.
    private let busy = Atomic<Bool>(false)
    private var job: ((Int, Int) -> Void)?
    private var jobCount = 0, jobGrain = 1, jobMerge = false
    /// Bytes a worker pulls into its cache after its share of the current job (see `parallelFor`).
    private var warmBase: UnsafeRawPointer?, warmBytes = 0
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
                ck_set_worker_index(Int32(start.index))
                start.pool.workerLoop()
                return nil
            }, box.toOpaque())
            precondition(rc == 0, "pthread_create failed")
            pthread_detach(thread)
        }
    }

    /// Which thread of its pool runs the caller: 1..<threadCount on a worker, 0 on any
    /// other thread (a job's caller). A job body can index per-thread scratch with it: one
    /// thread runs one chunk at a time, and a nested or concurrent call runs inline on
    /// the calling thread, keeping its index.
    public static var currentThreadIndex: Int { Int(ck_worker_index()) }

    /// Runs `body(lo, hi)` over disjoint ranges [lo, hi) that together cover
    /// [0, count): chunks of `grain` (the last may be shorter), each run exactly once
    /// on some thread, the caller included. Returns when all are done.
    /// A call made from inside a running job (or concurrently from another thread)
    /// runs serially on the calling thread.
    ///
    /// `thenWarm`: memory the next job will read from its end (workers claim from the
    /// back). A worker that runs out of chunks prefetches it into its L2 while the caller
    /// finishes and does the serial work before that job, so the memory bus does not sit
    /// idle between the decode loop's parallel loops. Prefetches never fault, and a new
    /// job interrupts them.
    ///
    /// `mergeRuns`: a thread's claim of consecutive chunks reaches `body` as one range
    /// (still starting on a chunk boundary) instead of one call per chunk, so a fine grain
    /// (small claims at the tail, less waiting for the slower thread) costs no extra calls.
    public func parallelFor(count: Int, grain: Int = 1, thenWarm: UnsafeRawBufferPointer? = nil,
                            mergeRuns: Bool = false, _ body: (Int, Int) -> Void) {
        guard count > 0 else { return }
        let g = max(grain, 1)
        let chunks = (count + g - 1) / g
        precondition(chunks < 1 << 31, "too many chunks")
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
            jobMerge = mergeRuns
            jobSplit = splitsMergedRuns(mergeRuns) && chunks >= 4
            warmBase = thenWarm.flatMap { UnsafeRawPointer($0.baseAddress) }
            warmBytes = thenWarm?.count ?? 0
            if jobSplit {
                let mid = chunks / 2
                claims.store(mid << 32, ordering: .relaxed)
                claims2.store(mid | chunks << 32, ordering: .relaxed)
            } else {
                claims.store(chunks << 32, ordering: .relaxed)
            }
            entered.store(0, ordering: .releasing)
            pthread_mutex_lock(&mutex)
            generation.add(1, ordering: .releasing)
            if sleepers > 0 { pthread_cond_broadcast(&cond) }
            pthread_mutex_unlock(&mutex)
            if jobSplit { drainSplit(escapable, count: count, grain: g, own: claims, other: claims2) } else {
                drain(escapable, count: count, grain: g, fromFront: true)
            }
            // Close the job, then wait for workers still finishing a claimed chunk.
            entered.add(Self.closedBit, ordering: .acquiringAndReleasing)
            // A worker preempted mid-chunk (shared cores) would keep this thread spinning
            // for a whole time slice: after ~50 µs of spinning, yield the core to it instead
            // (a claimed run of chunks often takes 2–20 µs, so yielding sooner turned most
            // waits into system calls: 1–2 % of a decode step in sched_yield).
            var spins = 0
            while entered.load(ordering: .acquiring) != Self.closedBit {
                spins += 1
                if spins > Self.spinsBeforeYield { sched_yield() }
            }
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// Claims runs of consecutive chunks until none are left and runs them one by one:
    /// each claim takes 1/(2·threads) of what remains (at least one chunk), the caller
    /// from the front and workers from the back, so each thread walks long contiguous
    /// stretches first, only the tail is fine-grained, and a worker knows where its next
    /// job's share starts (`workerStart`: what `thenWarm` names). Long runs matter for the
    /// decode loop's matrix products, which stream weights from memory: 64-row chunks
    /// handed out alternately read a Q4_1 matrix at 12 GB/s on two cores here, whole
    /// halves at 16–17 (the machine's read bandwidth); the small tail claims keep the
    /// balance when one thread starts late.
    @inline(__always)
    private func drain(_ run: (Int, Int) -> Void, count: Int, grain: Int, fromFront: Bool) {
        while let (first, take) = claim(claims, fromFront: fromFront, divisor: 2 * threadCount) {
            if jobMerge { run(first * grain, min(count, (first + take) * grain)) } else {
                for k in first..<(first + take) { run(k * grain, min(count, k * grain + grain)) }
            }
        }
    }

    /// Split jobs: the thread's own range from its front in halving runs (each run starts
    /// where the last ended: one ascending stream), then quarters of what is left of the
    /// other range, from its back.
    private func drainSplit(_ run: (Int, Int) -> Void, count: Int, grain: Int,
                            own: borrowing Atomic<Int>, other: borrowing Atomic<Int>) {
        while let (first, take) = claim(own, fromFront: true, divisor: 2) {
            run(first * grain, min(count, (first + take) * grain))
        }
        while let (first, take) = claim(other, fromFront: false, divisor: 4) {
            run(first * grain, min(count, (first + take) * grain))
        }
    }

    /// Takes 1/`divisor` of what is left of `range` ([front, back) chunks packed as
    /// front | back << 32; at least one chunk) from its front or back: the claimed
    /// [first, first + take), or nil once it is empty.
    @inline(__always)
    private func claim(_ range: borrowing Atomic<Int>, fromFront: Bool, divisor: Int) -> (first: Int, take: Int)? {
        var state = range.load(ordering: .relaxed)
        while true {
            let front = state & 0xFFFF_FFFF, back = state >> 32
            if front >= back { return nil }
            let take = max(1, (back - front) / divisor)
            let next = fromFront ? (front + take) | back << 32 : front | (back - take) << 32
            let r = range.compareExchange(expected: state, desired: next, ordering: .relaxed)
            if r.exchanged { return (fromFront ? front : back - take, take) }
            state = r.original
        }
    }

    /// Prefetches [base, base + bytes) into this core's L2, 4 KiB at a time from the start
    /// (where this worker starts reading: `workerStart`), until done or a job newer than
    /// `seen` starts.
    private func warm(_ base: UnsafeRawPointer, bytes: Int, seen: Int) {
        var at = 0
        while at < bytes && generation.load(ordering: .relaxed) == seen {
            let n = min(4096, bytes - at)
            ck_prefetch_l2(base + at, n)
            at += n
        }
    }

    private func workerLoop() {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins < Self.spinsBeforeSleep { continue }
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
                if jobSplit { drainSplit(run, count: jobCount, grain: jobGrain, own: claims2, other: claims) } else {
                    drain(run, count: jobCount, grain: jobGrain, fromFront: false)
                }
            }
            let warmBase = self.warmBase, warmBytes = self.warmBytes   // read while the job is open
            entered.subtract(1, ordering: .releasing)
            if let base = warmBase, warmBytes > 0 { warm(base, bytes: warmBytes, seen: seen) }
        }
    }
}

private final class WorkerStart {
    let pool: WorkerPool
    let index: Int
    init(pool: WorkerPool, index: Int) { self.pool = pool; self.index = index }
}
