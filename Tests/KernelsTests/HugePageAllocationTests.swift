import XCTest
@testable import Kernels

/// Small row-tile copies are carved from shared huge-page chunks: each must be its own
/// 64-byte aligned run that no other allocation overlaps, and stay valid however many
/// others come and go; a large one is 2 MiB aligned.
final class HugePageAllocationTests: XCTestCase {
    func testSmallAllocationsAreAlignedAndDisjoint() {
        let sizes = [1, 63, 64, 65, 4096, 207_360, 345_600, 1_105_920, 2_097_151, 100]
        var live: [(allocation: HugePageAllocation, fill: UInt8)] = []
        for round in 0..<6 {   // enough to spill over a chunk (32 MiB) and start new ones
            for (k, size) in sizes.enumerated() {
                let a = HugePageAllocation(byteCount: size)
                XCTAssertEqual(Int(bitPattern: a.pointer) % 64, 0)
                XCTAssertEqual(a.byteCount, size)
                let fill = UInt8(truncatingIfNeeded: round * 31 + k + 1)
                a.pointer.initializeMemory(as: UInt8.self, repeating: fill, count: size)
                live.append((a, fill))
            }
            if round == 2 { live.removeFirst(sizes.count) }   // some die while the chunk is in use
        }
        let ranges = live.map { (Int(bitPattern: $0.allocation.pointer), $0.allocation.byteCount) }.sorted { $0.0 < $1.0 }
        for (a, b) in zip(ranges, ranges.dropFirst()) { XCTAssertLessThanOrEqual(a.0 + a.1, b.0, "overlap") }
        // Every byte still holds what its owner wrote.
        for (i, (a, fill)) in live.enumerated() {
            let bytes = UnsafeBufferPointer(start: a.pointer.assumingMemoryBound(to: UInt8.self), count: a.byteCount)
            XCTAssertTrue(bytes.allSatisfy { $0 == fill }, "allocation \(i) was overwritten")
        }
    }

    func testLargeAllocationIsHugePageAligned() {
        let a = HugePageAllocation(byteCount: 5 << 20)
        XCTAssertEqual(Int(bitPattern: a.pointer) % (2 << 20), 0)
        a.pointer.initializeMemory(as: UInt8.self, repeating: 7, count: a.byteCount)
        XCTAssertEqual(a.pointer.load(fromByteOffset: a.byteCount - 1, as: UInt8.self), 7)
    }
}
