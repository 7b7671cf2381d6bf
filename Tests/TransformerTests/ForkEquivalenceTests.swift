import Foundation
import XCTest
import PagedKV
@testable import Transformer

/// A tree of forked branches gives the same logits as fresh single sequences fed
/// the same tokens from scratch (issue 3), with forks in the middle of a block and
/// on block boundaries, and siblings decoded together in one batched pass.
final class ForkEquivalenceTests: XCTestCase {
    func model(_ name: String) throws -> TransformerModel {
        guard let dir = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw XCTSkip("fixture \(name) missing")
        }
        return try TransformerModel.load(path: dir.path)
    }

    /// Logits of the last token of `tokens` computed from scratch in a fresh cache.
    func fresh(_ m: TransformerModel, _ tokens: [Int]) throws -> [Float] {
        let cache = m.makeCache(memoryBytes: 8 << 20, blockSize: 4)
        let out = try m.forward([ForwardEntry(sequence: cache.createSequence(), tokens: tokens)], cache: cache)
        return Array(out.logits(row: 0))
    }

    func relativeDiff(_ a: UnsafeMutableBufferPointer<Float>, _ b: [Float]) -> Float {
        var worst: Float = 0, scale: Float = 0
        for i in 0..<b.count { worst = max(worst, abs(a[i] - b[i])); scale = max(scale, abs(b[i])) }
        return worst / max(scale, 1e-6)
    }

    func testForkedTreeMatchesFreshSequences() throws {
        for name in ["qwen2-f32", "llama-f32-tied", "llama-mqa-1layer"] {
            let m = try model(name)
            let vocab = m.config.vocabSize
            let cache = m.makeCache(memoryBytes: 8 << 20, blockSize: 4)
            var rng = SplitMix64(seed: 7)
            func randomTokens(_ n: Int) -> [Int] { (0..<n).map { _ in Int(rng.next() % UInt64(vocab)) } }

            // Root: 6 tokens (forks happen in the middle of the second block).
            let root = cache.createSequence()
            var tokensOf: [SequenceID: [Int]] = [root: randomTokens(6)]
            _ = try m.forward([ForwardEntry(sequence: root, tokens: tokensOf[root]!)], cache: cache)
            var frontier = [root]
            var worst: Float = 0
            for depth in 0..<3 {
                var next: [SequenceID] = []
                for parent in frontier {
                    for _ in 0..<3 {
                        let child = try cache.fork(parent)
                        tokensOf[child] = tokensOf[parent]
                        next.append(child)
                    }
                }
                // Each child extends by its own chunk (lengths vary so later forks land on
                // block boundaries and mid-block), all siblings in one batched pass.
                var entries: [ForwardEntry] = []
                for (i, child) in next.enumerated() {
                    let chunk = randomTokens(1 + (i + depth) % 3)
                    tokensOf[child]! += chunk
                    entries.append(ForwardEntry(sequence: child, tokens: chunk))
                }
                let out = try m.forward(entries, cache: cache)
                for (i, child) in next.enumerated() {
                    XCTAssertEqual(cache.length(child), tokensOf[child]!.count)
                    let d = relativeDiff(out.logits(row: i), try fresh(m, tokensOf[child]!))
                    worst = max(worst, d)
                    XCTAssertLessThanOrEqual(d, 1e-5, "\(name) depth \(depth) child \(i)")
                }
                // The parents are unchanged by their children's writes: decode one more token on each.
                let parentEntries = frontier.map { p -> ForwardEntry in
                    let t = randomTokens(1)
                    tokensOf[p]! += t
                    return ForwardEntry(sequence: p, tokens: t)
                }
                let pout = try m.forward(parentEntries, cache: cache)
                for (i, p) in frontier.enumerated() {
                    XCTAssertLessThanOrEqual(relativeDiff(pout.logits(row: i), try fresh(m, tokensOf[p]!)), 1e-5)
                }
                frontier = Array(next.prefix(4))
            }
            print("fork equivalence \(name): worst relative diff \(worst), KV \(cache.stats)")
            XCTAssertTrue(cache.checkInvariants().isEmpty)
            let stats = cache.stats
            XCTAssertLessThan(stats.tokensStored, stats.tokensLogical, "forks must share prefix blocks")
        }
    }

    /// Running out of blocks mid-batch leaves every sequence as it was.
    func testOutOfBlocksLeavesCacheConsistent() throws {
        let m = try model("qwen2-f32")
        let layout = m.kvLayout(blockSize: 4)
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 3))
        let a = cache.createSequence(), b = cache.createSequence()
        _ = try m.forward([ForwardEntry(sequence: a, tokens: [1, 2, 3, 4, 5])], cache: cache)   // 2 blocks
        XCTAssertThrowsError(try m.forward([ForwardEntry(sequence: a, tokens: [6]),
                                            ForwardEntry(sequence: b, tokens: [1, 2, 3, 4, 5])], cache: cache))
        XCTAssertEqual(cache.length(a), 5)
        XCTAssertEqual(cache.length(b), 0)
        XCTAssertTrue(cache.checkInvariants().isEmpty)
        // And the cache still computes the right thing afterwards.
        let out = try m.forward([ForwardEntry(sequence: a, tokens: [6])], cache: cache)
        XCTAssertLessThanOrEqual(relativeDiff(out.logits(row: 0), try fresh(m, [1, 2, 3, 4, 5, 6])), 1e-5)
    }

    func testBadInputIsATypedError() throws {
        let m = try model("qwen2-f32")
        let cache = m.makeCache(memoryBytes: 1 << 20, blockSize: 4)
        let s = cache.createSequence()
        XCTAssertThrowsError(try m.forward([ForwardEntry(sequence: s, tokens: [m.config.vocabSize])], cache: cache)) {
            XCTAssertEqual($0 as? TransformerError, .tokenOutOfRange(m.config.vocabSize, vocab: m.config.vocabSize))
        }
        XCTAssertEqual(cache.length(s), 0)
    }
}
