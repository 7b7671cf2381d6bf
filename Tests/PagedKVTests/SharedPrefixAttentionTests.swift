import Foundation
import XCTest
@testable import Kernels
import PagedKV

/// Siblings forked from one prompt, attended together over their shared prefix blocks
/// (sharedPrefixAttention, once for all of them) and then each over its own rows
/// (pagedAttentionAfterPrefix, which merges the softmax states), against the naive
/// double-precision reference of PagedAttentionTests.
final class SharedPrefixAttentionTests: XCTestCase {
    func run(headDim: Int, kvHeads: Int, ratio: Int, prompt: Int, own: [Int], slices: Int, seed: UInt64,
             precision: KVPrecision = .f32) throws {
        guard AttentionKernel.avx512(headDim: headDim) else { throw XCTSkip("no AVX-512: the shared path is not used") }
        var rng = SplitMix64(seed: seed)
        let layout = KVLayout(layers: 2, kvHeads: kvHeads, headDim: headDim, blockSize: 4, precision: precision)
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 256))
        let heads = kvHeads * ratio, d = headDim
        let root = cache.createSequence()
        var rootShadow = AttentionShadow(keys: [[], []], values: [[], []])
        try appendRandomRows(cache, root, prompt, &rootShadow, &rng)
        var seqs: [SequenceID] = [], shadows: [AttentionShadow] = []
        for n in own {   // each sibling: its own rows, then the query's own row (decode)
            let s = try cache.fork(root)
            var sh = rootShadow
            try appendRandomRows(cache, s, n + 1, &sh, &rng)
            seqs.append(s)
            shadows.append(sh)
        }
        let starts = seqs.map { cache.length($0) - 1 }
        let prefix = sharedPrefixLength(cache: cache, seqs: seqs, limit: starts.min()!)
        XCTAssertEqual(prefix, prompt / 4 * 4, "the prompt's whole blocks are shared")
        let groups = prefixSharingGroups(cache: cache, seqs: seqs, limits: starts, minShared: 1)
        XCTAssertEqual(groups.count, 1)
        XCTAssertEqual(groups.first?.members, Array(seqs.indices))
        let count = seqs.count * heads
        let acc = FloatBuffer(count: slices * count * d), ml = FloatBuffer(count: 2 * slices * count)
        let state = AttentionState(acc: acc.pointer, m: ml.pointer, l: ml.pointer + slices * count, members: seqs.count,
                                   heads: heads, kvHeads: kvHeads, slices: slices, headDim: d)
        for layer in 0..<layout.layers {
            let qs = seqs.map { _ in FloatBuffer((0..<heads * d).map { _ in 3 * rng.float() }) }
            for k in 0..<slices {
                for g in 0..<kvHeads {
                    sharedPrefixAttention(cache: cache, seqs: seqs, layer: layer, prefix: prefix, slice: k, kvHead: g,
                                          q: qs.map { UnsafePointer($0.pointer) }, state: state)
                }
            }
            for (i, s) in seqs.enumerated() {
                let out = FloatBuffer(count: heads * d)
                pagedAttentionAfterPrefix(cache: cache, seq: s, layer: layer, start: starts[i], prefix: prefix,
                                          q: qs[i].pointer, out: out.pointer, state: state, index: i)
                let ref = referenceAttention(shadows[i], layout: layout, layer: layer, start: starts[i], queryCount: 1,
                                           heads: heads, q: qs[i].array)
                for h in 0..<heads {
                    let r = ref[h * d..<(h + 1) * d]
                    let scale = max(r.map { abs($0) }.max()!, 1e-12)
                    let err = (0..<d).map { abs(Double(out[h * d + $0]) - ref[h * d + $0]) }.max()!
                    XCTAssertLessThanOrEqual(err / scale, 1e-5, "d \(d) ratio \(ratio) sibling \(i) head \(h) layer \(layer) \(precision)")
                }
            }
        }
        XCTAssertEqual(cache.checkInvariants(), [])
    }

    func testSiblingsMatchReference() throws {
        // SmolLM2's shape (3 kv heads × 3), Qwen2-0.5B's groups of 7, head sizes 32 and 128;
        // a prompt ending mid-block, siblings with 0…9 own rows, one and two slices.
        try run(headDim: 64, kvHeads: 3, ratio: 3, prompt: 130, own: [0, 3, 9, 4], slices: 2, seed: 1)
        try run(headDim: 64, kvHeads: 2, ratio: 7, prompt: 37, own: [2, 5], slices: 1, seed: 2)
        try run(headDim: 32, kvHeads: 2, ratio: 2, prompt: 64, own: [1, 1, 6], slices: 2, seed: 3)
        try run(headDim: 128, kvHeads: 1, ratio: 5, prompt: 45, own: [7, 0, 2], slices: 1, seed: 4)
    }

    /// The same over f16 caches (the reference reads the rounded rows).
    func testSiblingsMatchReferenceOverHalfPrecisionRows() throws {
        try run(headDim: 64, kvHeads: 3, ratio: 3, prompt: 130, own: [0, 3, 9, 4], slices: 2, seed: 11, precision: .f16)
        try run(headDim: 32, kvHeads: 2, ratio: 2, prompt: 64, own: [1, 1, 6], slices: 2, seed: 13, precision: .f16)
        try run(headDim: 128, kvHeads: 1, ratio: 5, prompt: 45, own: [7, 0, 2], slices: 1, seed: 14, precision: .f16)
    }

    /// Sequences that share nothing, or only part of a block, form no group.
    func testNoGroupWithoutSharedBlocks() throws {
        let layout = KVLayout(layers: 1, kvHeads: 1, headDim: 32, blockSize: 4)
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 64))
        let a = cache.createSequence(), b = cache.createSequence()
        _ = try cache.append(a, count: 40)
        _ = try cache.append(b, count: 40)
        XCTAssertTrue(prefixSharingGroups(cache: cache, seqs: [a, b], limits: [39, 39], minShared: 1).isEmpty)
        let root = cache.createSequence()
        _ = try cache.append(root, count: 3)   // one partial block: a fork copies it on write
        let c1 = try cache.fork(root), c2 = try cache.fork(root)
        _ = try cache.append(c1, count: 2)
        _ = try cache.append(c2, count: 2)
        XCTAssertEqual(sharedPrefixLength(cache: cache, seqs: [c1, c2], limit: 4), 0)
    }
}
