import XCTest
@testable import PagedKV

/// `appendCopies` (used by `sprig bench memory` to grow a large tree without decoding
/// every token): the new positions read back the source row in every layer, K and V; a
/// fork's shared partial block is extended in place or copied as by `append`; bad sources
/// change nothing.
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
        XCTAssertEqual(readTokens(cache, parent), (100...105).map { $0 }, "the parent's rows are untouched")
        XCTAssertEqual(cache.copiedBlocks, 0, "the first child extends the shared block in place")
        var s = cache.stats
        XCTAssertEqual(s.tokensStored, 6 + 9, "parent 6, child's own 9")
        XCTAssertEqual(s.blocksInUse, 2 + 2, "parent 2 (the second shared with the child); child 2 new")
        // A second child is behind the first one's rows in the shared block: it copies.
        let second = try cache.fork(parent)
        try cache.appendCopies(second, count: 3, of: 0)
        XCTAssertEqual(readTokens(cache, second), (100...105).map { $0 } + [100, 100, 100])
        XCTAssertEqual(readTokens(cache, child), (100...105).map { $0 } + [Int](repeating: 105, count: 9))
        XCTAssertEqual(readTokens(cache, parent), (100...105).map { $0 })
        XCTAssertEqual(cache.copiedBlocks, 1)
        s = cache.stats
        XCTAssertEqual(s.tokensStored, 6 + 9 + 2 + 3, "and the second child's copied block repeats 2 rows")
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
