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
    guard !cache.slots[s].blocks.isEmpty else { return }  // empty sequence: nothing to attend
    withView(cache, slot: s, layer: layer) { view in
        Kernels.pagedAttention(view: view, start: start, queryCount: queryCount, heads: heads, q: q, out: out)
    }
}

/// A pointer-level view of slot `s`'s rows of one layer (Kernels knows nothing of PagedKV).
/// The slot must hold at least one block.
private func withView<R>(_ cache: PagedKVCache, slot s: Int, layer: Int, _ body: (PagedKVView) -> R) -> R {
    let pool = cache.pool, layout = pool.layout
    return cache.slots[s].blocks.withUnsafeBufferPointer { table in
        body(PagedKVView(keyBase: UnsafeRawPointer(pool.keys(block: 0, layer: layer)),
                         valueBase: UnsafeRawPointer(pool.values(block: 0, layer: layer)),
                         f16: layout.precision == .f16, blockStride: layout.blockElements, blockTable: table.baseAddress!,
                         blockSize: layout.blockSize, kvHeads: layout.kvHeads, headDim: layout.headDim))
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
/// merging. Kv head by kv head, as the kernel writes them (no reordering): the state of
/// member i, head h (kv head g = h / group, k = h % group) is at index
/// j = (g · members + i) · group + k; slice `sl` holds acc = Σ_r w_r v_r (unnormalised,
/// [headDim]) at acc + (sl · count + j) · headDim, m = max_r s_r and l = Σ_r w_r at
/// m / l + sl · count + j, count = members · heads.
public struct AttentionState {
    public var acc: UnsafeMutablePointer<Float>   // [slices, count, headDim]
    public var m: UnsafeMutablePointer<Float>     // [slices, count]
    public var l: UnsafeMutablePointer<Float>     // [slices, count]
    public var members: Int
    public var heads: Int
    public var group: Int                          // query heads per kv head
    public var slices: Int
    public var headDim: Int
    public var count: Int { members * heads }

    public init(acc: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>, l: UnsafeMutablePointer<Float>,
                members: Int, heads: Int, kvHeads: Int, slices: Int, headDim: Int) {
        precondition(heads % kvHeads == 0)
        self.acc = acc
        self.m = m
        self.l = l
        self.members = members
        self.heads = heads
        self.group = heads / kvHeads
        self.slices = slices
        self.headDim = headDim
    }

    /// The state index of member i, head h (within one slice).
    public func index(member i: Int, head h: Int) -> Int { (h / group * members + i) * group + h % group }

    /// The rows of slice k of a shared prefix: [k · prefix / slices, (k + 1) · prefix / slices).
    public func rows(slice k: Int, prefix: Int) -> Range<Int> { (k * prefix / slices)..<((k + 1) * prefix / slices) }
}

/// Slice `slice` of the shared rows [0, prefix) of `seqs` (see sharedPrefixLength) attended
/// once for every sequence's query heads of kv head `kvHead`: each shared K/V row is read
/// once instead of once per sibling. q[i]: sequence i's query row [heads, headDim]; the
/// states land in `state` (members = seqs.count). Only where AttentionKernel.avx512(headDim:).
public func sharedPrefixAttention(cache: PagedKVCache, seqs: [SequenceID], layer: Int, prefix: Int, slice: Int,
                                  kvHead: Int, q: [UnsafePointer<Float>], state: AttentionState) {
    precondition(seqs.count == q.count && q.count == state.members && prefix > 0)
    guard let s = cache.slotIndex(seqs[0]) else { preconditionFailure("sharedPrefixAttention: unknown sequence") }
    let group = state.group, d = state.headDim, n = q.count * group
    let first = slice * state.count + state.index(member: 0, head: kvHead * group)  // n states from here
    withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: n) { qs in
        withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Float>?.self, capacity: n) { outs in
            for (i, qi) in q.enumerated() {
                for k in 0..<group {
                    qs[i * group + k] = qi + (kvHead * group + k) * d
                    outs[i * group + k] = state.acc + (first + i * group + k) * d
                }
            }
            withView(cache, slot: s, layer: layer) { view in
                pagedAttentionPartial(view: view, kvHeads: kvHead..<(kvHead + 1), perKVHead: n,
                                      range: state.rows(slice: slice, prefix: prefix), queries: qs.baseAddress!,
                                      outputs: outs.baseAddress!, m: state.m + first, l: state.l + first)
            }
        }
    }
}

/// One decode query of `seq` at position `start` whose rows [0, prefix) were already
/// attended as member i of `state` (sharedPrefixAttention, every slice): attends [prefix,
/// start + 1) for all heads in one kernel call and merges,
/// out = Σ_k acc_k e^{m_k−M} / Σ_k l_k e^{m_k−M}, M = max_k m_k. q, out: [heads, headDim].
public func pagedAttentionAfterPrefix(cache: PagedKVCache, seq: SequenceID, layer: Int, start: Int, prefix: Int,
                                      q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                                      state: AttentionState, index i: Int) {
    guard let s = cache.slotIndex(seq) else { preconditionFailure("pagedAttentionAfterPrefix: unknown sequence") }
    precondition(prefix > 0 && prefix <= start && start < cache.slots[s].length)
    let d = state.headDim, heads = state.heads
    withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: heads) { qs in
        withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Float>?.self, capacity: heads) { outs in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * heads) { ml in
                let m2 = ml.baseAddress!, l2 = m2 + heads
                for h in 0..<heads {   // head order = kv head order: the kernel's layout
                    qs[h] = q + h * d
                    outs[h] = out + h * d
                }
                withView(cache, slot: s, layer: layer) { view in
                    pagedAttentionPartial(view: view, kvHeads: 0..<view.kvHeads, perKVHead: state.group,
                                          range: prefix..<(start + 1), queries: qs.baseAddress!,
                                          outputs: outs.baseAddress!, m: m2, l: l2)
                }
                for h in 0..<heads {   // merge the slices' states and this one, then normalise
                    let j0 = state.index(member: i, head: h)
                    var m = m2[h]
                    for k in 0..<state.slices { m = max(m, state.m[k * state.count + j0]) }
                    let b = expf(m2[h] - m)
                    var total = l2[h] * b
                    let o = out + h * d
                    for c in 0..<d { o[c] *= b }
                    for k in 0..<state.slices {
                        let j = k * state.count + j0
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
