import Foundation
import Kernels
import PagedKV

/// Decode entries whose sequences share prefix blocks (siblings forked from one node):
/// per layer, their shared rows are attended once for all of them (the K/V rows are
/// read once instead of once per sibling), then each entry attends its own rows and
/// merges the partial softmax states (PagedKV.pagedAttentionAfterPrefix).
///
/// Only for one-token entries and where the AVX-512 attention kernel runs; a shared
/// prefix under `minShared` positions is not worth the extra parallel loop and merge per
/// layer. Measured on SmolLM2 (session 9, attention time per decode step, shared vs each
/// sibling alone): 32 shared positions cost +0.35 ms at 4 siblings and +1.0 ms at 16;
/// 128 about even at 4 and +0.8 ms at 16; 512 save 1.7 ms at 4 and 3.4 ms at 16.
final class SharedPrefixPlan {
    struct Group {
        var entries: [Int]                  // entry indices
        var sequences: [SequenceID]
        var prefix: Int                     // shared positions [0, prefix)
        var slices: Int                     // the shared rows split so both cores get work
    }
    static let minShared = 256
    /// SPRIG_NO_SHARED_PREFIX=1 attends every sibling on its own (A/B measurements).
    static let enabled = ProcessInfo.processInfo.environment["SPRIG_NO_SHARED_PREFIX"] == nil

    private(set) var groups: [Group] = []
    private(set) var units: [(group: Int, slice: Int, kvHead: Int)] = []
    /// member[entry]: (group, member index), nil for entries in no group
    private(set) var member: [(group: Int, index: Int)?]
    private var acc = FloatBuffer(count: 0)   // per group: [slices, members · heads, headDim]
    private var ml = FloatBuffer(count: 0)    // per group: m [slices, members · heads] then l
    /// states[g]: group g's partial states, pointers into acc and ml (valid while the plan lives)
    private(set) var states: [AttentionState] = []
    private var queries: [[UnsafePointer<Float>]] = []   // per group: each member's query row
    let heads: Int, kvHeads: Int, headDim: Int

    var isEmpty: Bool { groups.isEmpty }

    init(entries: [ForwardEntry], starts: [Int], cache: PagedKVCache, heads: Int, kvHeads: Int, headDim: Int) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        member = Array(repeating: nil, count: entries.count)
        guard Self.enabled, AttentionKernel.avx512(headDim: headDim) else { return }
        let decode = entries.indices.filter { entries[$0].tokens.count == 1 }
        guard decode.count >= 2 else { return }
        let found = prefixSharingGroups(cache: cache, seqs: decode.map { entries[$0].sequence },
                                        limits: decode.map { starts[$0] }, minShared: Self.minShared)
        var accTotal = 0, mlTotal = 0
        var offsets: [(acc: Int, ml: Int)] = []
        for (members, prefix) in found {
            let ids = members.map { decode[$0] }
            let slices = prefix >= 128 ? 2 : 1
            let g = groups.count
            groups.append(Group(entries: ids, sequences: ids.map { entries[$0].sequence }, prefix: prefix,
                                slices: slices))
            for (i, e) in ids.enumerated() { member[e] = (g, i) }
            for k in 0..<slices { for h in 0..<kvHeads { units.append((g, k, h)) } }
            offsets.append((accTotal, mlTotal))
            accTotal += slices * ids.count * heads * headDim
            mlTotal += 2 * slices * ids.count * heads
        }
        acc = FloatBuffer(count: accTotal, zeroed: false)
        ml = FloatBuffer(count: mlTotal, zeroed: false)
        states = zip(groups, offsets).map { group, o in
            let members = group.entries.count, m = ml.pointer + o.ml
            return AttentionState(acc: acc.pointer + o.acc, m: m, l: m + group.slices * members * heads,
                                  members: members, heads: heads, kvHeads: kvHeads, slices: group.slices,
                                  headDim: headDim)
        }
    }

    /// The entries' query rows (fixed for the whole pass): q(entry) is [heads, headDim].
    func setQueries(_ q: (Int) -> UnsafePointer<Float>) {
        queries = groups.map { $0.entries.map(q) }
    }

    /// Stage A of one layer (after setQueries): every (group, slice, kv head) unit, over both cores.
    func attendShared(cache: PagedKVCache, layer: Int) {
        WorkerPool.shared.parallelFor(count: units.count) { lo, hi in
            for u in lo..<hi {
                let (g, k, h) = self.units[u]
                let group = self.groups[g]
                sharedPrefixAttention(cache: cache, seqs: group.sequences, layer: layer, prefix: group.prefix, slice: k,
                                      kvHead: h, q: self.queries[g], state: self.states[g])
            }
        }
    }
}
