import XCTest
@testable import PagedKV

final class OutOfBlocksTests: XCTestCase {
    func testAppendPastCapacityThrowsAndChangesNothing() throws {
        let layout = KVLayout(layers: 2, kvHeads: 1, headDim: 8, blockSize: 4)
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 4))
        let seq = cache.createSequence()
        try cache.append(seq, count: 10)  // 3 blocks
        for p in 0..<10 { stamp(cache, seq, position: p, token: p + 1) }
        let before = cache.table(seq)
        XCTAssertThrowsError(try cache.append(seq, count: 7)) { error in
            XCTAssertEqual(error as? KVError, .outOfBlocks(needed: 2, free: 1))
        }
        XCTAssertEqual(cache.table(seq), before)
        XCTAssertEqual(cache.pool.freeCount, 1)
        XCTAssertEqual(cache.checkInvariants(), [])
        XCTAssertEqual(readTokens(cache, seq), (1...10).map { $0 })
        XCTAssertEqual(try cache.append(seq, count: 6), 10)  // exactly fits
        XCTAssertEqual(cache.pool.freeCount, 0)
        XCTAssertThrowsError(try cache.append(seq, count: 1)) { error in
            XCTAssertEqual(error as? KVError, .outOfBlocks(needed: 1, free: 0))
        }
    }

    func testCopyOnWriteCountsTowardsTheNeed() throws {
        let layout = KVLayout(layers: 1, kvHeads: 1, headDim: 8, blockSize: 4)
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 2))
        let parent = cache.createSequence()
        try cache.append(parent, count: 6)  // 2 blocks, second partial; pool now empty
        for p in 0..<6 { stamp(cache, parent, position: p, token: p + 1) }
        let child = try cache.fork(parent)  // fork itself needs no block
        // The child may extend the shared block in place (no one wrote past its end)...
        XCTAssertEqual(cache.blocksNeeded(forAppending: 1, to: child), 0)
        XCTAssertEqual(cache.blocksNeededAtMost(forAppending: 1, to: child), 1)
        try cache.append(child, count: 1)
        stamp(cache, child, position: 6, token: 70)
        // ...after which the parent is behind it: its write needs a copy, and the pool is empty.
        XCTAssertEqual(cache.blocksNeeded(forAppending: 1, to: parent), 1)
        XCTAssertThrowsError(try cache.append(parent, count: 1)) { error in
            XCTAssertEqual(error as? KVError, .outOfBlocks(needed: 1, free: 0))
        }
        XCTAssertEqual(cache.length(parent), 6)
        XCTAssertEqual(cache.copiedBlocks, 0)
        XCTAssertEqual(cache.checkInvariants(), [])
        cache.free(child)  // the partial block is now the parent's alone: no copy needed
        XCTAssertEqual(cache.blocksNeeded(forAppending: 2, to: parent), 0)
        try cache.append(parent, count: 2)
        stamp(cache, parent, position: 6, token: 7)
        stamp(cache, parent, position: 7, token: 8)
        XCTAssertEqual(readTokens(cache, parent), (1...8).map { $0 })
        XCTAssertEqual(cache.copiedBlocks, 0)
    }

    func testEmptyPoolAndNegativeCount() throws {
        let layout = KVLayout(layers: 1, kvHeads: 1, headDim: 8, blockSize: 4)
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 0))
        let seq = cache.createSequence()
        XCTAssertEqual(try cache.append(seq, count: 0), 0)
        XCTAssertThrowsError(try cache.append(seq, count: 1)) { error in
            XCTAssertEqual(error as? KVError, .outOfBlocks(needed: 1, free: 0))
        }
        XCTAssertThrowsError(try cache.append(seq, count: -1)) { error in
            XCTAssertEqual(error as? KVError, .invalidLength(sequence: seq, requested: -1, current: 0))
        }
        XCTAssertEqual(cache.length(seq), 0)
    }
}
