import XCTest
@testable import Kernels
import PagedKV

final class ForkCopyOnWriteTests: XCTestCase {
    let layout = KVLayout(layers: 3, kvHeads: 2, headDim: 8, blockSize: 16)

    /// Appends `count` tokens to `seq` and stamps them with ids from `next`.
    @discardableResult
    func grow(_ cache: PagedKVCache, _ seq: SequenceID, _ count: Int, _ next: inout Int) throws -> [Int] {
        let start = try cache.append(seq, count: count)
        var ids: [Int] = []
        for p in start..<start + count {
            stamp(cache, seq, position: p, token: next)
            ids.append(next)
            next += 1
        }
        return ids
    }

    func testForkSharesEveryBlockAndCopiesNothing() throws {
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 32))
        var next = 1
        let parent = cache.createSequence()
        try grow(cache, parent, 40, &next)  // 2 full blocks + 8 rows
        let used = cache.pool.usedCount
        let children = try (0..<4).map { _ in try cache.fork(parent) }
        XCTAssertEqual(cache.pool.usedCount, used, "fork must not take blocks")
        for c in children {
            XCTAssertEqual(cache.table(c), cache.table(parent))
            XCTAssertEqual(readTokens(cache, c), readTokens(cache, parent))
        }
        for b in cache.table(parent).blocks { XCTAssertEqual(cache.pool.refCount(b), 5) }
        let s = cache.stats
        XCTAssertEqual(s.tokensStored, 40)
        XCTAssertEqual(s.tokensLogical, 200)
        XCTAssertEqual(s.sharedBlocks, 3)
        XCTAssertEqual(s.bytesInUse, 3 * layout.blockBytes)
        XCTAssertEqual(s.bytesWithoutSharing, 15 * layout.blockBytes)
        XCTAssertEqual(s.copiedBlocks, 0)
        XCTAssertEqual(cache.checkInvariants(), [])
    }

    func testForkMidBlockTheFirstWriterExtendsInPlaceAndTheOtherCopies() throws {
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 32))
        var next = 1
        let parent = cache.createSequence()
        let parentIDs = try grow(cache, parent, 37, &next)  // last block holds 5 rows
        let child = try cache.fork(parent)
        let used = cache.pool.usedCount

        // No one has written past the child's end: it extends the shared block in place.
        XCTAssertEqual(cache.blocksNeeded(forAppending: 1, to: child), 0)
        XCTAssertEqual(cache.blocksNeededAtMost(forAppending: 1, to: child), 1, "a sibling could write there first")
        let childIDs = try grow(cache, child, 1, &next)
        XCTAssertEqual(cache.pool.usedCount, used)
        XCTAssertEqual(cache.copiedBlocks, 0)
        XCTAssertEqual(cache.table(child).blocks, cache.table(parent).blocks)
        XCTAssertEqual(cache.pool.fill(cache.table(child).blocks[2]), 6)

        // The parent is now behind the block's written rows: its first write copies its 5.
        XCTAssertEqual(cache.blocksNeeded(forAppending: 10, to: child), 0)
        let childMore = try grow(cache, child, 10, &next)
        XCTAssertEqual(cache.blocksNeeded(forAppending: 10, to: parent), 1)
        let parentMore = try grow(cache, parent, 10, &next)
        XCTAssertEqual(cache.copiedBlocks, 1)
        XCTAssertEqual(cache.pool.usedCount, used + 1)
        let pt = cache.table(parent), ct = cache.table(child)
        XCTAssertEqual(Array(ct.blocks.prefix(2)), Array(pt.blocks.prefix(2)), "full blocks stay shared")
        XCTAssertNotEqual(ct.blocks[2], pt.blocks[2])
        XCTAssertEqual(cache.pool.refCount(ct.blocks[2]), 1)

        XCTAssertEqual(readTokens(cache, parent), parentIDs + parentMore)
        XCTAssertEqual(readTokens(cache, child), parentIDs + childIDs + childMore)
        let s = cache.stats
        XCTAssertEqual(s.tokensLogical, 47 + 48)
        XCTAssertEqual(s.tokensStored, 32 + 15 + 16)
        XCTAssertEqual(cache.checkInvariants(), [])
    }

    /// Four children forked mid-block and extended in one batch (reserved with
    /// `blocksNeededAtMost`, as a batched forward does): the first writes into the shared
    /// block, the other three copy it; everyone reads its own tokens.
    func testSiblingsExtendingOneSharedBlockCopyOnceEachButTheFirst() throws {
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 32))
        var next = 1
        let parent = cache.createSequence()
        let base = try grow(cache, parent, 21, &next)   // block 1 holds 5 rows
        let kids = try (0..<4).map { _ in try cache.fork(parent) }
        let reserved = kids.reduce(0) { $0 + cache.blocksNeededAtMost(forAppending: 3, to: $1) }
        let free = cache.pool.freeCount
        var expected: [[Int]] = []
        for k in kids { expected.append(base + (try grow(cache, k, 3, &next))) }
        XCTAssertEqual(cache.copiedBlocks, 3)
        XCTAssertEqual(free - cache.pool.freeCount, 3)
        XCTAssertLessThanOrEqual(free - cache.pool.freeCount, reserved)
        for (k, e) in zip(kids, expected) { XCTAssertEqual(readTokens(cache, k), e) }
        XCTAssertEqual(readTokens(cache, parent), base)
        XCTAssertEqual(cache.blocksNeeded(forAppending: 1, to: parent), 1, "the parent is behind the first child's rows")
        XCTAssertEqual(cache.checkInvariants(), [])
    }

    func testParentWriteAfterForkDoesNotLeakIntoChild() throws {
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 32))
        var next = 1
        let parent = cache.createSequence()
        let base = try grow(cache, parent, 20, &next)
        let child = try cache.fork(parent)
        let parentMore = try grow(cache, parent, 3, &next)  // parent writes first: in place
        XCTAssertEqual(cache.copiedBlocks, 0)
        let childMore = try grow(cache, child, 3, &next)    // the child is behind: it copies
        XCTAssertEqual(cache.copiedBlocks, 1)
        XCTAssertEqual(readTokens(cache, parent), base + parentMore)
        XCTAssertEqual(readTokens(cache, child), base + childMore)
        XCTAssertEqual(cache.checkInvariants(), [])
    }

    func testForkAtBlockBoundaryNeverCopies() throws {
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 32))
        var next = 1
        let parent = cache.createSequence()
        let base = try grow(cache, parent, 32, &next)
        let kids = try (0..<4).map { _ in try cache.fork(parent) }
        var expected: [[Int]] = []
        for k in kids { expected.append(base + (try grow(cache, k, 5, &next))) }
        XCTAssertEqual(cache.copiedBlocks, 0)
        XCTAssertEqual(cache.pool.usedCount, 2 + 4)
        for (k, e) in zip(kids, expected) { XCTAssertEqual(readTokens(cache, k), e) }
        XCTAssertEqual(readTokens(cache, parent), base)
    }

    func testTruncateIntoSharedBlockThenAppendCopies() throws {
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 32))
        var next = 1
        let parent = cache.createSequence()
        let base = try grow(cache, parent, 40, &next)
        let child = try cache.fork(parent)
        try cache.truncate(child, to: 20)  // keeps blocks 0 and 1, both still shared
        XCTAssertEqual(cache.table(child).blocks, Array(cache.table(parent).blocks.prefix(2)))
        let more = try grow(cache, child, 2, &next)  // would overwrite parent rows 20, 21 without COW
        XCTAssertEqual(cache.copiedBlocks, 1)
        XCTAssertEqual(readTokens(cache, parent), base)
        XCTAssertEqual(readTokens(cache, child), Array(base.prefix(20)) + more)
        XCTAssertEqual(cache.checkInvariants(), [])
    }

    func testTruncateReleasesBlocksAndValidates() throws {
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 8))
        var next = 1
        let seq = cache.createSequence()
        let ids = try grow(cache, seq, 50, &next)
        XCTAssertEqual(cache.pool.freeCount, 4)
        try cache.truncate(seq, to: 17)
        XCTAssertEqual(cache.pool.freeCount, 6)
        XCTAssertEqual(readTokens(cache, seq), Array(ids.prefix(17)))
        XCTAssertThrowsError(try cache.truncate(seq, to: 18)) { error in
            XCTAssertEqual(error as? KVError, .invalidLength(sequence: seq, requested: 18, current: 17))
        }
        XCTAssertThrowsError(try cache.truncate(seq, to: -1))
        try cache.truncate(seq, to: 0)
        XCTAssertEqual(cache.pool.freeCount, 8)
        XCTAssertEqual(cache.table(seq).blocks, [])
    }

    func testStaleAndUnknownIdsAreRejected() throws {
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 8))
        let a = cache.createSequence()
        try cache.append(a, count: 3)
        cache.free(a)
        let b = cache.createSequence()  // reuses a's slot with a new generation
        XCTAssertNotEqual(a, b)
        XCTAssertFalse(cache.contains(a))
        XCTAssertThrowsError(try cache.append(a, count: 1)) { XCTAssertEqual($0 as? KVError, .unknownSequence(a)) }
        XCTAssertThrowsError(try cache.fork(a)) { XCTAssertEqual($0 as? KVError, .unknownSequence(a)) }
        XCTAssertThrowsError(try cache.truncate(a, to: 0)) { XCTAssertEqual($0 as? KVError, .unknownSequence(a)) }
        XCTAssertThrowsError(try cache.fork(12345)) { XCTAssertEqual($0 as? KVError, .unknownSequence(12345)) }
        cache.free(a)  // stale free must not touch b
        XCTAssertTrue(cache.contains(b))
        XCTAssertEqual(cache.sequences, [b])
        XCTAssertEqual(cache.pool.freeCount, 8)
    }

    func testKeepOnlyPrunesEverythingElse() throws {
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 32))
        var next = 1
        let root = cache.createSequence()
        try grow(cache, root, 20, &next)
        let kids = try (0..<4).map { _ in try cache.fork(root) }
        for k in kids { try grow(cache, k, 20, &next) }
        let keep = kids[2]
        let expected = readTokens(cache, keep)
        cache.keepOnly([keep])
        XCTAssertEqual(cache.sequences, [keep])
        XCTAssertEqual(readTokens(cache, keep), expected)
        XCTAssertEqual(cache.pool.usedCount, 3)
        for b in cache.table(keep).blocks { XCTAssertEqual(cache.pool.refCount(b), 1) }
        XCTAssertEqual(cache.checkInvariants(), [])
        cache.keepOnly([])
        XCTAssertEqual(cache.pool.freeCount, 32)
    }

    func testMemoryBytesInitAndLayoutSizes() {
        XCTAssertEqual(layout.rowElements, 16)
        XCTAssertEqual(layout.blockElements, 3 * 2 * 16 * 16)
        XCTAssertEqual(layout.bytesPerToken, 3 * 2 * 16 * 4)
        XCTAssertEqual(layout.blockBytes, layout.bytesPerToken * layout.blockSize)
        let pool = BlockPool(layout: layout, memoryBytes: 5 * layout.blockBytes + 7)
        XCTAssertEqual(pool.blockCount, 5)
        XCTAssertEqual(pool.freeCount, 5)
        // Block regions tile the storage without overlap: [layers][K|V][blockSize][row].
        let part = layout.layerPartElements * 4
        XCTAssertEqual(pool.values(block: 0, layer: 0) - pool.keys(block: 0, layer: 0), part)
        XCTAssertEqual(pool.keys(block: 0, layer: 1) - pool.values(block: 0, layer: 0), part)
        XCTAssertEqual(pool.keys(block: 1, layer: 0) - pool.values(block: 0, layer: 2), part)
        XCTAssertEqual(Int(bitPattern: pool.keys(block: 0, layer: 0)) % 64, 0)
        XCTAssertEqual(BlockPool(layout: layout, memoryBytes: 10).blockCount, 0)
        // f16: half the bytes, same shape.
        var half = layout
        half.precision = .f16
        XCTAssertEqual(half.bytesPerToken * 2, layout.bytesPerToken)
        let halfPool = BlockPool(layout: half, memoryBytes: 5 * half.blockBytes)
        XCTAssertEqual(halfPool.values(block: 0, layer: 0) - halfPool.keys(block: 0, layer: 0), part / 2)
        XCTAssertEqual(halfPool.keys(block: 1, layer: 0) - halfPool.keys(block: 0, layer: 0), half.blockBytes)
    }

    /// Copy-on-write in an f16 cache copies the halves as they are: a child that wrote
    /// after the fork reads the parent's rows bit for bit, and the parent its own.
    func testHalfPrecisionForkCopiesRowsExactly() throws {
        var half = layout
        half.precision = .f16
        let cache = PagedKVCache(pool: BlockPool(layout: half, blockCount: 16))
        let parent = cache.createSequence()
        try cache.append(parent, count: 6)   // ends mid-block
        let n = half.rowElements
        func row(_ p: Int, _ salt: Float) -> [Float] { (0..<n).map { Float(p) + Float($0) * 0.01 + salt } }
        for p in 0..<6 { for l in 0..<half.layers { cache.store(parent, layer: l, position: p, key: row(p, 0), value: row(p, 0.5)) } }
        let child = try cache.fork(parent)
        // The parent writes first (in place), so the child, behind it, copies the block.
        try cache.append(parent, count: 1)
        for l in 0..<half.layers { cache.store(parent, layer: l, position: 6, key: row(7, 0), value: row(7, 0.5)) }
        try cache.append(child, count: 1)
        for l in 0..<half.layers { cache.store(child, layer: l, position: 6, key: row(99, 0), value: row(99, 0.5)) }
        XCTAssertEqual(cache.copiedBlocks, 1)
        var k = [Float](repeating: 0, count: n), v = k
        for p in 0..<6 {
            for l in 0..<half.layers {
                cache.load(child, layer: l, position: p, key: &k, value: &v)
                XCTAssertEqual(k, Half.rounded(row(p, 0)), "child key row \(p) layer \(l)")
                XCTAssertEqual(v, Half.rounded(row(p, 0.5)))
            }
        }
        cache.load(child, layer: 1, position: 6, key: &k, value: &v)
        XCTAssertEqual(k, Half.rounded(row(99, 0)))
        cache.load(parent, layer: 1, position: 6, key: &k, value: &v)
        XCTAssertEqual(k, Half.rounded(row(7, 0)))
        XCTAssertEqual(cache.checkInvariants(), [])
    }
}
