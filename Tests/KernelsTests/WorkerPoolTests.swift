import Foundation
import Synchronization
import XCTest
@testable import Kernels

final class WorkerPoolTests: XCTestCase {
    /// Every index of [0, count) is visited exactly once, over many back-to-back
    /// calls with varying counts and grains (the decode loop's pattern).
    func testRepeatedCallsCoverEachIndexOnce() {
        let pool = WorkerPool(threads: 3)
        let hits = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 1000)
        for i in 0..<1000 { (hits + i).initialize(to: Atomic<Int>(0)) }
        defer { hits.deallocate() }
        for call in 0..<5000 {
            let count = call % 1000 + 1, grain = call % 7 + 1
            pool.parallelFor(count: count, grain: grain) { lo, hi in
                precondition(lo < hi && hi <= count)
                for i in lo..<hi { hits[i].add(1, ordering: .relaxed) }
            }
            var bad = -1
            for i in 0..<count where hits[i].exchange(0, ordering: .relaxed) != 1 { bad = i }
            XCTAssertEqual(bad, -1, "call \(call): index \(bad) not visited exactly once")
            if bad >= 0 { return }
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
}
