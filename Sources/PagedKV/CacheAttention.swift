import Foundation
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

// MARK: - Siblings that share prefix blocks

/// Positions [0, result) that every sequence in `seqs` holds in the *same* blocks (fork
/// shares a parent's full blocks until one is written), rounded down to whole blocks and
/// capped at `limit` (the first new position of the earliest sequence, so every query
/// attends to the whole shared range). 0 when fewer than two sequences are given.
public func sharedPrefixLength(cache: PagedKVCache, seqs: [SequenceID], limit: Int) -> Int {
    guard seqs.count >= 2, let first = cache.slotIndex(seqs[0]) else { return 0 }
    let bs = cache.pool.layout.blockSize
    let base = cache.slots[first].blocks
    var common = min(base.count, max(0, limit) / bs)
    for seq in seqs.dropFirst() {
        guard let s = cache.slotIndex(seq) else { return 0 }
        let blocks = cache.slots[s].blocks
        var n = 0
        while n < common && n < blocks.count && blocks[n] == base[n] { n += 1 }
        common = n
        if common == 0 { return 0 }
    }
    return common * bs
}

/// Sequences (by index into `seqs`) that share at least `minShared` prefix positions, grouped
/// by their first block, with the shared length of each group (sharedPrefixLength, capped at
/// the smallest of the members' `limits`). Sequences in no group are left out.
public func prefixSharingGroups(cache: PagedKVCache, seqs: [SequenceID], limits: [Int],
                                minShared: Int) -> [(members: [Int], prefix: Int)] {
    var byFirstBlock: [Int: [Int]] = [:]
    for (i, seq) in seqs.enumerated() {
        guard let s = cache.slotIndex(seq), let first = cache.slots[s].blocks.first else { continue }
        byFirstBlock[first, default: []].append(i)
    }
    var out: [(members: [Int], prefix: Int)] = []
    for members in byFirstBlock.values.sorted(by: { $0[0] < $1[0] }) where members.count >= 2 {
        let limit = members.map { limits[$0] }.min()!
        let prefix = sharedPrefixLength(cache: cache, seqs: members.map { seqs[$0] }, limit: limit)
        if prefix >= minShared { out.append((members, prefix)) }
    }
    return out
}

/// Partial attention states of a group's query heads over slices of their shared rows, for
/// merging: slice k, state index j (= member · heads + head) holds acc = Σ_r w_r v_r
/// (unnormalised, [headDim]) at acc + k · accStride + j · headDim, m = max_r s_r and
/// l = Σ_r w_r at m/l + k · count + j.
public struct AttentionState {
    public var acc: UnsafeMutablePointer<Float>   // [slices, count, headDim]
    public var m: UnsafeMutablePointer<Float>     // [slices, count]
    public var l: UnsafeMutablePointer<Float>     // [slices, count]
    public var count: Int                          // members · heads
    public var slices: Int
    public var headDim: Int
    public init(acc: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>, l: UnsafeMutablePointer<Float>,
                count: Int, slices: Int, headDim: Int) {
        self.acc = acc
        self.m = m
        self.l = l
        self.count = count
        self.slices = slices
        self.headDim = headDim
    }
    /// The rows of slice k of a shared prefix: [k · prefix / slices, (k + 1) · prefix / slices).
    public func rows(slice k: Int, prefix: Int) -> Range<Int> { (k * prefix / slices)..<((k + 1) * prefix / slices) }
}

/// A pointer-level view of `seq`'s rows of one layer (Kernels knows nothing of PagedKV).
private func withView<R>(_ cache: PagedKVCache, slot s: Int, layer: Int, _ body: (PagedKVView) -> R) -> R {
    let pool = cache.pool, layout = pool.layout
    return cache.slots[s].blocks.withUnsafeBufferPointer { table in
        body(PagedKVView(keyBase: UnsafePointer(pool.keys(block: 0, layer: layer)),
                         valueBase: UnsafePointer(pool.values(block: 0, layer: layer)),
                         blockStride: layout.blockFloats, blockTable: table.baseAddress!,
                         blockSize: layout.blockSize, kvHeads: layout.kvHeads, headDim: layout.headDim))
    }
}

/// Slice `slice` of the shared rows [0, prefix) of `seqs` (see sharedPrefixLength) attended
/// once for every sequence's query heads of kv head `kvHead`: each shared K/V row is read
/// once instead of once per sibling. q[i]: sequence i's query row [heads, headDim]. The
/// state of sequence i, head h (h in kv group `kvHead`) lands at index i · heads + h.
/// Only where AttentionKernel.avx512(headDim:) holds.
public func sharedPrefixAttention(cache: PagedKVCache, seqs: [SequenceID], layer: Int, prefix: Int, slice: Int,
                                  kvHead: Int, heads: Int, q: [UnsafePointer<Float>], state: AttentionState) {
    let layout = cache.pool.layout
    precondition(seqs.count == q.count && prefix > 0 && heads % layout.kvHeads == 0)
    guard let s = cache.slotIndex(seqs[0]) else { preconditionFailure("sharedPrefixAttention: unknown sequence") }
    let group = heads / layout.kvHeads, d = layout.headDim, n = q.count * group
    withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: n) { qs in
        withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Float>?.self, capacity: n) { outs in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * n) { ml in
                for (i, qi) in q.enumerated() {
                    for k in 0..<group {
                        let h = kvHead * group + k
                        qs[i * group + k] = qi + h * d
                        outs[i * group + k] = state.acc + (slice * state.count + i * heads + h) * d
                    }
                }
                let m = ml.baseAddress!, l = m + n
                withView(cache, slot: s, layer: layer) { view in
                    pagedAttentionPartial(view: view, kvHead: kvHead, range: state.rows(slice: slice, prefix: prefix),
                                          queries: qs.baseAddress!,
                                          outputs: outs.baseAddress!, count: n, m: m, l: l)
                }
                for i in 0..<q.count {
                    for k in 0..<group {
                        let h = kvHead * group + k
                        state.m[slice * state.count + i * heads + h] = m[i * group + k]
                        state.l[slice * state.count + i * heads + h] = l[i * group + k]
                    }
                }
            }
        }
    }
}

/// One decode query of `seq` at position `start` whose rows [0, prefix) were already
/// attended (sharedPrefixAttention, every slice of `state` at index i · heads + h): attends
/// [prefix, start + 1) and merges, out = Σ_k acc_k e^{m_k−M} / Σ_k l_k e^{m_k−M}, M = max_k m_k.
/// q, out: [heads, headDim].
public func pagedAttentionAfterPrefix(cache: PagedKVCache, seq: SequenceID, layer: Int, start: Int, prefix: Int,
                                      heads: Int, q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                                      state: AttentionState, index i: Int) {
    let layout = cache.pool.layout
    guard let s = cache.slotIndex(seq) else { preconditionFailure("pagedAttentionAfterPrefix: unknown sequence") }
    precondition(prefix > 0 && prefix <= start && start < cache.slots[s].length)
    let d = layout.headDim, group = heads / layout.kvHeads
    withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: group) { qs in
        withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Float>?.self, capacity: group) { outs in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * heads) { ml in
                let m2 = ml.baseAddress!, l2 = m2 + heads
                withView(cache, slot: s, layer: layer) { view in
                    for g in 0..<layout.kvHeads {
                        for k in 0..<group {
                            qs[k] = q + (g * group + k) * d
                            outs[k] = out + (g * group + k) * d
                        }
                        pagedAttentionPartial(view: view, kvHead: g, range: prefix..<(start + 1), queries: qs.baseAddress!,
                                              outputs: outs.baseAddress!, count: group, m: m2 + g * group, l: l2 + g * group)
                    }
                }
                for h in 0..<heads {   // merge the slices' states and this one, then normalise
                    var m = m2[h]
                    for k in 0..<state.slices { m = max(m, state.m[k * state.count + i * heads + h]) }
                    let b = expf(m2[h] - m)
                    var total = l2[h] * b
                    let o = out + h * d
                    for c in 0..<d { o[c] *= b }
                    for k in 0..<state.slices {
                        let j = k * state.count + i * heads + h
                        let a = expf(state.m[j] - m)
                        total += state.l[j] * a
                        let acc = state.acc + j * d
                        for c in 0..<d { o[c] += acc[c] * a }
                    }
                    let inv = 1 / total
                    for c in 0..<d { o[c] *= inv }
                }
            }
        }
    }
}
