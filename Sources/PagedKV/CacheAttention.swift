import Kernels

/// Causal multi-head attention with GQA for `queryCount` consecutive new positions
/// [start, start + queryCount) of `seq`, whose K/V rows (already written, RoPE applied)
/// live in the cache. Reads K/V block by block through the block table (Kernels.pagedAttention).
///
/// q, out: [queryCount, heads, headDim]; query i attends to positions [0, start + i].
/// scale = 1/sqrt(headDim); heads % kvHeads == 0; kv head of head h = h / (heads / kvHeads).
/// Precondition: start + queryCount <= length(seq). `scratch` is accepted for callers that
/// size one ([>= start + queryCount] floats) but not needed: the kernel uses an online softmax.
public func pagedAttention(cache: PagedKVCache, seq: SequenceID, layer: Int, start: Int, queryCount: Int,
                           heads: Int, q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                           scratch: UnsafeMutablePointer<Float>? = nil) {
    guard let s = cache.slotIndex(seq) else { preconditionFailure("pagedAttention: unknown sequence \(seq)") }
    precondition(start >= 0 && start + queryCount <= cache.slots[s].length, "pagedAttention: positions past length")
    precondition(layer >= 0 && layer < cache.pool.layout.layers, "pagedAttention: layer out of range")
    let pool = cache.pool
    let layout = pool.layout
    cache.slots[s].blocks.withUnsafeBufferPointer { table in
        guard let tableBase = table.baseAddress else { return }  // empty sequence: nothing to attend
        let view = PagedKVView(keyBase: UnsafePointer(pool.keys(block: 0, layer: layer)),
                               valueBase: UnsafePointer(pool.values(block: 0, layer: layer)),
                               blockStride: layout.blockFloats, blockTable: tableBase,
                               blockSize: layout.blockSize, kvHeads: layout.kvHeads, headDim: layout.headDim)
        Kernels.pagedAttention(view: view, start: start, queryCount: queryCount, heads: heads,
                               q: q, out: out)
    }
}
