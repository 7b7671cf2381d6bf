import Foundation
import Synchronization
import XCTest
@testable import Kernels

final class WorkerPoolTests: XCTestCase {
    /// Every index of [0, count) is visited exactly once, in ranges that are whole
    /// `grain` chunks (the caller claims from the front, workers from the back), over
    /// many back-to-back calls with varying counts and grains (the decode loop's
    /// pattern), half of them asking the workers to prefetch a buffer afterwards.
    func testRepeatedCallsCoverEachIndexOnce() {
        let pool = WorkerPool(threads: 3)
        let hits = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 1000)
        for i in 0..<1000 { (hits + i).initialize(to: Atomic<Int>(0)) }
        defer { hits.deallocate() }
        let warmed = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 64)
        defer { warmed.deallocate() }
        for call in 0..<5000 {
            let count = call % 1000 + 1, grain = call % 7 + 1
            let warm = call % 2 == 0 ? UnsafeRawBufferPointer(warmed) : nil
            pool.parallelFor(count: count, grain: grain, thenWarm: warm) { lo, hi in
                precondition(lo < hi && hi <= count && lo % grain == 0 && (hi - lo == grain || hi == count))
                for i in lo..<hi { hits[i].add(1, ordering: .relaxed) }
            }
            var bad = -1
            for i in 0..<count where hits[i].exchange(0, ordering: .relaxed) != 1 { bad = i }
            XCTAssertEqual(bad, -1, "call \(call): index \(bad) not visited exactly once")
            if bad >= 0 { return }
        }
    }

    /// With `mergeRuns` a claim arrives as one range of whole chunks (the last may end at
    /// `count`): every index still exactly once, and fewer calls than chunks once the
    /// claims are runs (the first claim alone is a quarter of them).
    /// On two threads (split ranges: each thread walks one half forwards, then takes from
    /// the back of the other's) and on three (two-ended claims).
    func testMergedRunsCoverEachIndexOnce() {
        let hits = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 1000)
        for i in 0..<1000 { (hits + i).initialize(to: Atomic<Int>(0)) }
        defer { hits.deallocate() }
        for (threads, split) in [(2, true), (2, false), (3, true)] {
        let saved = WorkerPool.splitRanges
        WorkerPool.splitRanges = split
        defer { WorkerPool.splitRanges = saved }
        let pool = WorkerPool(threads: threads)
        for call in 0..<2000 {
            let count = call % 1000 + 1, grain = call % 16 + 1
            let calls = Atomic<Int>(0)
            pool.parallelFor(count: count, grain: grain, mergeRuns: true) { lo, hi in
                precondition(lo < hi && hi <= count && lo % grain == 0 && (hi % grain == 0 || hi == count))
                calls.add(1, ordering: .relaxed)
                for i in lo..<hi { hits[i].add(1, ordering: .relaxed) }
            }
            var bad = -1
            for i in 0..<count where hits[i].exchange(0, ordering: .relaxed) != 1 { bad = i }
            XCTAssertEqual(bad, -1, "call \(call): index \(bad) not visited exactly once")
            if bad >= 0 { return }
            let chunks = (count + grain - 1) / grain
            if chunks >= 16 {
                XCTAssertLessThan(calls.load(ordering: .relaxed), chunks, "count \(count) grain \(grain): runs were not merged")
            }
        }
        }
    }

    /// A parallelFor inside a job (and one from a second thread at the same time)
    /// runs serially instead of deadlocking, with correct results.
    func testNestedAndConcurrentCalls() {
        let pool = WorkerPool(threads: 2)
        let total = Atomic<Int>(0)
        pool.parallelFor(count: 64, grain: 4) { lo, hi in
            for _ in lo..<hi {
                pool.parallelFor(count: 10) { a, b in total.add(b - a, ordering: .relaxed) }
            }
        }
        XCTAssertEqual(total.load(ordering: .relaxed), 640)
        let other = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<200 {
                pool.parallelFor(count: 100, grain: 3) { a, b in other.add(b - a, ordering: .relaxed) }
            }
        }
        XCTAssertEqual(other.load(ordering: .relaxed), 4 * 200 * 100)
    }

    /// Each chunk runs on one thread whose index is inside the pool (the caller is 0), and
    /// no two threads report the same index at once: per-thread scratch is safe.
    func testThreadIndexNamesOneThreadAtATime() {
        let pool = WorkerPool(threads: 3)
        XCTAssertEqual(WorkerPool.currentThreadIndex, 0)
        let inUse = Atomic<Int>(0)   // bit t: a chunk is running as index t
        let clashes = Atomic<Int>(0), seen = Atomic<Int>(0)
        for _ in 0..<300 {
            pool.parallelFor(count: 64) { lo, hi in
                let t = WorkerPool.currentThreadIndex
                guard t >= 0 && t < 3 else { clashes.add(1000, ordering: .relaxed); return }
                seen.bitwiseOr(1 << t, ordering: .relaxed)
                if inUse.bitwiseOr(1 << t, ordering: .acquiringAndReleasing).oldValue & (1 << t) != 0 {
                    clashes.add(1, ordering: .relaxed)
                }
                var x = 0
                for k in lo..<hi { for j in 0..<200 { x &+= k &* j } }
                if x == 42 { print(x) }
                inUse.bitwiseAnd(~(1 << t), ordering: .acquiringAndReleasing)
            }
        }
        XCTAssertEqual(clashes.load(ordering: .relaxed), 0)
        XCTAssertEqual(seen.load(ordering: .relaxed) & 1, 1, "the caller ran chunks as index 0")
    }
}
