import XCTest
@testable import PagedKV

/// `appendCopies` (used by `sprig bench memory` to grow a large tree without decoding
/// every token): the new positions read back the source row in every layer, K and V; a
/// fork's shared partial block is copied on write as by `append`; bad sources change nothing.
final class RowFillTests: XCTestCase {
    let layout = KVLayout(layers: 3, kvHeads: 2, headDim: 8, blockSize: 4)

    func testCopiesReadBackTheSourceRowAndKeepTheParentIntact() throws {
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 64))
        let parent = cache.createSequence()
        try cache.append(parent, count: 6)
        for p in 0..<6 { stamp(cache, parent, position: p, token: 100 + p) }
        let child = try cache.fork(parent)
        let start = try cache.appendCopies(child, count: 9, of: 5)
        XCTAssertEqual(start, 6)
        XCTAssertEqual(cache.length(child), 15)
        XCTAssertEqual(readTokens(cache, child), (100...105).map { $0 } + [Int](repeating: 105, count: 9))
        XCTAssertEqual(readTokens(cache, parent), (100...105).map { $0 }, "the parent's shared block was copied, not written")
        XCTAssertEqual(cache.copiedBlocks, 1)
        let s = cache.stats
        XCTAssertEqual(s.tokensStored, 6 + 9 + 2, "parent 6, child's own 9, and the 2 rows its copied block repeats")
        XCTAssertEqual(s.blocksInUse, 2 + 3, "parent 2; child: the copied block and 2 new")
        XCTAssertEqual(cache.checkInvariants(), [])
    }

    func testBadSourceOrUnknownSequenceChangesNothing() throws {
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 8))
        let seq = cache.createSequence()
        try cache.append(seq, count: 3)
        XCTAssertThrowsError(try cache.appendCopies(seq, count: 2, of: 3))
        XCTAssertThrowsError(try cache.appendCopies(seq, count: 2, of: -1))
        XCTAssertEqual(cache.length(seq), 3)
        cache.free(seq)
        XCTAssertThrowsError(try cache.appendCopies(seq, count: 1, of: 0))
        XCTAssertThrowsError(try cache.appendCopies(cache.createSequence(), count: 1, of: 0), "empty: no source row")
        XCTAssertEqual(cache.checkInvariants(), [])
    }
}
