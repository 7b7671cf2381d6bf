import XCTest
@testable import Kernels
import PagedKV

/// pagedAttention against a naive reference over contiguous arrays (double precision).
/// Error measure: max |paged - reference| / max |reference| over each (query, head) row.
final class PagedAttentionTests: XCTestCase {
    /// Runs the kernel for [start, start + queryCount) of every layer; returns the worst relative error.
    func worstError(_ cache: PagedKVCache, _ seq: SequenceID, _ shadow: AttentionShadow, start: Int, queryCount: Int,
                    heads: Int, _ rng: inout SplitMix64) -> Double {
        let layout = cache.pool.layout
        let d = layout.headDim
        var worst = 0.0
        for layer in 0..<layout.layers {
            // Larger queries make the softmax peaky, so a wrong row would show.
            let q = (0..<queryCount * heads * d).map { _ in 3 * rng.float() }
            var out = [Float](repeating: .nan, count: q.count)
            var scratch = [Float](repeating: .nan, count: start + queryCount)
            q.withUnsafeBufferPointer { qp in
                out.withUnsafeMutableBufferPointer { op in
                    scratch.withUnsafeMutableBufferPointer { sp in
                        pagedAttention(cache: cache, seq: seq, layer: layer, start: start, queryCount: queryCount,
                                       heads: heads, q: qp.baseAddress!, out: op.baseAddress!, scratch: sp.baseAddress!)
                    }
                }
            }
            let ref = referenceAttention(shadow, layout: layout, layer: layer, start: start, queryCount: queryCount,
                                heads: heads, q: q)
            for row in 0..<queryCount * heads {
                let r = ref[row * d..<(row + 1) * d]
                let scaleRef = max(r.map { abs($0) }.max()!, 1e-12)
                var err = 0.0
                for c in 0..<d {
                    let diff = abs(Double(out[row * d + c]) - ref[row * d + c])
                    err = max(err, diff.isNaN ? .infinity : diff)
                }
                worst = max(worst, err / scaleRef)
            }
        }
        return worst
    }

    /// Parent prefill, a fork at `forkAt`, child prefill chunk + decode, parent decode after the fork.
    func runScenario(blockSize: Int, kvHeads: Int, ratio: Int, headDim: Int, forkAt: Int, seed: UInt64,
                     precision: KVPrecision = .f32) throws {
        var rng = SplitMix64(seed: seed)
        let layout = KVLayout(layers: 2, kvHeads: kvHeads, headDim: headDim, blockSize: blockSize, precision: precision)
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 512))
        let heads = kvHeads * ratio
        let label = "bs \(blockSize) kv \(kvHeads) ratio \(ratio) d \(headDim) fork at \(forkAt) \(precision)"

        // Fragment the pool so block tables are not in address order.
        let junk = (0..<3).map { _ in cache.createSequence() }
        for (i, j) in junk.enumerated() { try cache.append(j, count: (i + 1) * blockSize * 2) }
        cache.free(junk[1])

        let parent = cache.createSequence()
        let empty = AttentionShadow(keys: Array(repeating: [], count: layout.layers), values: Array(repeating: [], count: layout.layers))
        var parentShadow = empty
        // Parent prefill in two chunks, attention over each chunk (queryCount > 1).
        let firstChunk = forkAt / 2
        try appendRandomRows(cache, parent, firstChunk, &parentShadow, &rng)
        if firstChunk > 0 {
            XCTAssertLessThanOrEqual(worstError(cache, parent, parentShadow, start: 0, queryCount: firstChunk, heads: heads, &rng), 1e-5, label)
        }
        try appendRandomRows(cache, parent, forkAt - firstChunk, &parentShadow, &rng)
        XCTAssertLessThanOrEqual(worstError(cache, parent, parentShadow, start: firstChunk, queryCount: forkAt - firstChunk, heads: heads, &rng), 1e-5, label)

        // Four children; each prefills its own chunk, then decodes token by token.
        for c in 0..<4 {
            let child = try cache.fork(parent)
            var childShadow = parentShadow
            let chunk = 1 + c * 3
            try appendRandomRows(cache, child, chunk, &childShadow, &rng)
            XCTAssertLessThanOrEqual(worstError(cache, child, childShadow, start: forkAt, queryCount: chunk, heads: heads, &rng), 1e-5, label)
            for _ in 0..<3 {
                let start = cache.length(child)
                try appendRandomRows(cache, child, 1, &childShadow, &rng)
                XCTAssertLessThanOrEqual(worstError(cache, child, childShadow, start: start, queryCount: 1, heads: heads, &rng), 1e-5, label)
            }
        }
        // The parent still reads its own rows after the children wrote theirs.
        let start = cache.length(parent)
        try appendRandomRows(cache, parent, 1, &parentShadow, &rng)
        XCTAssertLessThanOrEqual(worstError(cache, parent, parentShadow, start: start, queryCount: 1, heads: heads, &rng), 1e-5, label)
        XCTAssertEqual(cache.checkInvariants(), [])
    }

    func testMatchesReferenceAcrossBlockSizesGQAAndForkPoints() throws {
        var seed: UInt64 = 100
        for blockSize in [1, 4, 16, 32] {
            for (kvHeads, ratio) in [(1, 4), (2, 2), (2, 1)] {
                for forkAt in [blockSize * 2, blockSize * 2 + blockSize / 2 + 1, 37] {
                    seed += 1
                    try runScenario(blockSize: blockSize, kvHeads: kvHeads, ratio: ratio, headDim: 64,
                                    forkAt: forkAt, seed: seed)
                }
            }
        }
    }

    func testHeadDimensionsOffTheFastPath() throws {
        // 128: 32-wide path x4; 40: 32 + 8; 24: 8-wide only; 12: 8 + scalar tail; 3: scalar only.
        // 32 / 64 / 128 take the AVX-512 C kernel where the CPU has it.
        for (i, headDim) in [128, 64, 32, 40, 24, 12, 3].enumerated() {
            try runScenario(blockSize: 16, kvHeads: 2, ratio: 3, headDim: headDim, forkAt: 21, seed: 900 + UInt64(i))
        }
    }

    /// Kv groups larger than one pass of the AVX-512 kernel (4 heads at head size 32/64, 2 at
    /// 128): Qwen2-0.5B has 7 query heads per kv head.
    func testLargeGroups() throws {
        for (i, (ratio, headDim)) in [(7, 64), (7, 128), (5, 32), (8, 64)].enumerated() {
            try runScenario(blockSize: 4, kvHeads: 2, ratio: ratio, headDim: headDim, forkAt: 37, seed: 970 + UInt64(i))
        }
    }

    /// The Swift kernel on the head sizes the AVX-512 kernel takes over (it still runs on
    /// CPUs without AVX-512 and under SPRIG_SWIFT_ATTENTION=1).
    func testSwiftKernelWhereAVX512WouldRun() throws {
        AttentionKernel.allowAVX512 = false
        defer { AttentionKernel.allowAVX512 = true }
        for (i, headDim) in [128, 64, 32].enumerated() {
            try runScenario(blockSize: 4, kvHeads: 3, ratio: 3, headDim: headDim, forkAt: 37, seed: 950 + UInt64(i))
        }
    }

    /// An f16 cache (what search and bench use on quantized checkpoints): the AVX-512 kernel
    /// converts the halves exactly, so against the reference over the rounded rows it is as
    /// accurate as over f32 rows; every head size, group size and block size it takes.
    func testHalfPrecisionCacheMatchesReferenceOverRoundedRows() throws {
        guard AttentionKernel.avx512(headDim: 64) else { throw XCTSkip("f16 caches need the AVX-512 attention kernel") }
        var seed: UInt64 = 1200
        for blockSize in [1, 4, 16] {
            for (kvHeads, ratio, headDim) in [(1, 4, 64), (2, 7, 64), (2, 3, 128), (3, 2, 32), (2, 5, 32)] {
                seed += 1
                try runScenario(blockSize: blockSize, kvHeads: kvHeads, ratio: ratio, headDim: headDim,
                                forkAt: 2 * blockSize + 3, seed: seed, precision: .f16)
            }
        }
    }

    func testLongContextDecode() throws {
        var rng = SplitMix64(seed: 7)
        let layout = KVLayout(layers: 1, kvHeads: 2, headDim: 128, blockSize: 32)
        let cache = PagedKVCache(pool: BlockPool(layout: layout, blockCount: 64))
        let seq = cache.createSequence()
        var shadow = AttentionShadow(keys: [[]], values: [[]])
        try appendRandomRows(cache, seq, 1500, &shadow, &rng)
        XCTAssertLessThanOrEqual(worstError(cache, seq, shadow, start: 1499, queryCount: 1, heads: 8, &rng), 1e-5)
    }
}
