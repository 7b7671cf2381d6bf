import XCTest
@testable import PagedKV

/// Thousands of random fork / append / truncate / free / keepOnly operations on random
/// trees, checked against a shadow model (token ids per sequence) after every step.
final class RandomOperationsTests: XCTestCase {
    func runRandomOperations(seed: UInt64, steps: Int, blockSize: Int, blockCount: Int) throws {
        var rng = SplitMix64(seed: seed)
        let layout = KVLayout(layers: 2, kvHeads: 2, headDim: 3, blockSize: blockSize)
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: blockCount))
        var shadow: [SequenceID: [Int]] = [:]
        var nextToken = 1
        var freedIDs: [SequenceID] = []
        var outOfBlocksSeen = 0
        var copiesBefore = 0

        func check(_ what: String, _ step: Int) {
            let problems = cache.checkInvariants()
            XCTAssertEqual(problems, [], "seed \(seed) step \(step) after \(what)")
            XCTAssertEqual(Set(cache.sequences), Set(shadow.keys), "seed \(seed) step \(step) after \(what)")
            for (seq, tokens) in shadow {
                XCTAssertEqual(cache.length(seq), tokens.count)
                let read = readTokens(cache, seq)
                if read != tokens.map({ Optional($0) }) {
                    XCTFail("seed \(seed) step \(step) after \(what): seq \(seq) reads \(read), want \(tokens)")
                }
            }
            let s = cache.stats
            XCTAssertEqual(s.tokensLogical, shadow.values.reduce(0) { $0 + $1.count })
            XCTAssertLessThanOrEqual(s.tokensStored, s.tokensLogical)
            XCTAssertEqual(s.blocksInUse, blockCount - cache.pool.freeCount)
            XCTAssertLessThanOrEqual(s.bytesInUse, s.bytesWithoutSharing)
            // Independently: rows stored per block (the most any holder covers) and the blocks
            // with more than one reference, over the whole pool.
            var rowsPerBlock: [Int: Int] = [:]
            for seq in cache.sequences {
                let t = cache.table(seq)
                for (j, b) in t.blocks.enumerated() {
                    rowsPerBlock[b] = max(rowsPerBlock[b] ?? 0, min(blockSize, t.length - j * blockSize))
                }
            }
            XCTAssertEqual(s.tokensStored, rowsPerBlock.values.reduce(0, +), "seed \(seed) step \(step)")
            XCTAssertEqual(s.sharedBlocks, (0..<blockCount).filter { cache.pool.refCount($0) > 1 }.count)
        }

        for step in 0..<steps {
            let live = Array(shadow.keys).sorted()
            let pick = live.isEmpty ? nil : live[rng.int(0...live.count - 1)]
            let roll = pick == nil ? 0 : rng.int(0...99)
            var what = ""
            switch roll {
            case 0..<8:
                what = "create"
                shadow[cache.createSequence()] = []
            case 8..<30:
                what = "fork"
                let child = try cache.fork(pick!)
                XCTAssertNil(shadow[child], "fresh id collides with a live one")
                shadow[child] = shadow[pick!]
            case 30..<65:
                let seq = pick!
                let count = rng.int(1...max(3 * blockSize, 8))
                what = "append \(count)"
                let needed = cache.blocksNeeded(forAppending: count, to: seq)
                XCTAssertGreaterThanOrEqual(cache.blocksNeededAtMost(forAppending: count, to: seq), needed)
                let free = cache.pool.freeCount
                let tableBefore = cache.table(seq)
                do {
                    let start = try cache.append(seq, count: count)
                    XCTAssertEqual(start, shadow[seq]!.count)
                    XCTAssertEqual(cache.pool.freeCount, free - needed, "blocksNeeded disagrees with append")
                    for p in start..<start + count {
                        stamp(cache, seq, position: p, token: nextToken)
                        shadow[seq]!.append(nextToken)
                        nextToken += 1
                    }
                } catch {
                    XCTAssertEqual(error, .outOfBlocks(needed: needed, free: free))
                    XCTAssertGreaterThan(needed, free)
                    XCTAssertEqual(cache.table(seq), tableBefore, "failed append changed the table")
                    XCTAssertEqual(cache.pool.freeCount, free)
                    outOfBlocksSeen += 1
                }
            case 65..<77:
                let seq = pick!
                let length = rng.int(0...shadow[seq]!.count)
                what = "truncate to \(length)"
                try cache.truncate(seq, to: length)
                shadow[seq]!.removeLast(shadow[seq]!.count - length)
            case 77..<92:
                what = "free"
                cache.free(pick!)
                shadow[pick!] = nil
                freedIDs.append(pick!)
            case 92..<96:
                // Prune: keep a random subset (a search keeping its surviving frontier).
                let keep = Set(live.filter { _ in rng.int(0...2) != 0 })
                what = "keepOnly \(keep.count) of \(live.count)"
                cache.keepOnly(keep)
                for seq in live where !keep.contains(seq) {
                    shadow[seq] = nil
                    freedIDs.append(seq)
                }
            default:
                what = "stale id"
                if let stale = freedIDs.last {
                    XCTAssertThrowsError(try cache.append(stale, count: 1))
                    cache.free(stale)  // ignored
                }
            }
            XCTAssertGreaterThanOrEqual(cache.copiedBlocks, copiesBefore)
            copiesBefore = cache.copiedBlocks
            check(what, step)
        }
        XCTAssertGreaterThan(outOfBlocksSeen, 0, "the pool never ran dry: raise steps or shrink the pool")
        if blockSize == 1 {
            XCTAssertEqual(cache.copiedBlocks, 0, "one-token blocks are never partial, so never copied")
        } else {
            XCTAssertGreaterThan(cache.copiedBlocks, 0, "no copy-on-write was exercised")
        }
        for seq in cache.sequences { cache.free(seq) }
        XCTAssertEqual(cache.pool.freeCount, blockCount, "free count not restored")
        for b in 0..<blockCount { XCTAssertEqual(cache.pool.refCount(b), 0) }
        XCTAssertEqual(cache.checkInvariants(), [])
    }

    func testRandomOperationsSmallBlocks() throws {
        for seed: UInt64 in [1, 2, 3] {
            try runRandomOperations(seed: seed, steps: 1500, blockSize: 4, blockCount: 48)
        }
    }

    func testRandomOperationsLargerBlocks() throws {
        for seed: UInt64 in [11, 12] {
            try runRandomOperations(seed: seed, steps: 1500, blockSize: 16, blockCount: 24)
        }
    }

    func testRandomOperationsSingleTokenBlocks() throws {
        try runRandomOperations(seed: 21, steps: 1500, blockSize: 1, blockCount: 40)
    }
}
