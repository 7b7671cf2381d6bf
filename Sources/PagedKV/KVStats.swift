/// Memory accounting of a PagedKVCache at one moment.
public struct KVStats: Codable, Sendable, Equatable {
    /// Blocks held by at least one sequence.
    public var blocksInUse: Int
    public var blockCount: Int
    /// blocksInUse * block bytes.
    public var bytesInUse: Int
    /// Blocks held by two or more sequences.
    public var sharedBlocks: Int
    /// Distinct token rows held (a shared row counts once).
    public var tokensStored: Int
    /// Sum of sequence lengths: what a copy-per-sequence cache would hold.
    public var tokensLogical: Int
    /// Bytes the same sequences would take with the same paging but no sharing
    /// (sum over sequences of ceil(length / blockSize) blocks).
    public var bytesWithoutSharing: Int
    public var sequences: Int
    /// Blocks copied by copy-on-write since the cache was created (cumulative).
    public var copiedBlocks: Int
}

extension PagedKVCache {
    /// Current accounting. O(total table entries), not O(pool blocks): a search samples it
    /// while it runs, and a pool may hold far more blocks than are in use.
    public var stats: KVStats {
        let layout = pool.layout
        var logical = 0
        var tableEntries = 0
        for s in slots.indices where slots[s].live {
            logical += slots[s].length
            tableEntries += slots[s].blocks.count
        }
        // Each held block's used rows = the most rows any holder covers in it.
        var rows: [Int: Int] = [:]
        rows.reserveCapacity(tableEntries)
        for s in slots.indices where slots[s].live {
            let length = slots[s].length
            for (j, b) in slots[s].blocks.enumerated() {
                let used = min(layout.blockSize, length - j * layout.blockSize)
                if used > rows[b, default: 0] { rows[b] = used }
            }
        }
        let stored = rows.values.reduce(0, +)
        let shared = rows.keys.reduce(0) { $0 + (pool.refCount($1) > 1 ? 1 : 0) }
        return KVStats(blocksInUse: pool.usedCount, blockCount: pool.blockCount,
                       bytesInUse: pool.usedCount * layout.blockBytes, sharedBlocks: shared,
                       tokensStored: stored, tokensLogical: logical,
                       bytesWithoutSharing: tableEntries * layout.blockBytes,
                       sequences: sequenceCount, copiedBlocks: copiedBlocks)
    }

    /// Every broken invariant, one line each; empty when consistent. Checks: each block's
    /// refCount equals the number of tables holding it, its written rows cover every
    /// holder's rows in it, no block is both free and held,
    /// the free list has no duplicates, free + held == blockCount, every table has
    /// ceil(length / blockSize) in-range blocks and no block twice. O(blocks + entries).
    public func checkInvariants() -> [String] {
        var problems = pool.checkInvariants()
        let blockSize = pool.layout.blockSize
        var holders = [Int](repeating: 0, count: pool.blockCount)
        for s in slots.indices where slots[s].live {
            let slot = slots[s]
            let expected = (slot.length + blockSize - 1) / blockSize
            if slot.blocks.count != expected {
                problems.append("sequence slot \(s): \(slot.blocks.count) blocks for length \(slot.length), want \(expected)")
            }
            if Set(slot.blocks).count != slot.blocks.count {
                problems.append("sequence slot \(s) holds a block twice")
            }
            for (j, b) in slot.blocks.enumerated() {
                guard b >= 0 && b < pool.blockCount else {
                    problems.append("sequence slot \(s) holds block id \(b) out of range"); continue
                }
                holders[b] += 1
                let covered = min(blockSize, slot.length - j * blockSize)
                if pool.fill(b) < covered {
                    problems.append("block \(b): \(pool.fill(b)) rows written but sequence slot \(s) covers \(covered)")
                }
            }
        }
        for s in slots.indices where !slots[s].live && !slots[s].blocks.isEmpty {
            problems.append("freed slot \(s) still lists blocks")
        }
        for b in 0..<pool.blockCount where pool.refCount(b) != holders[b] {
            problems.append("block \(b): refCount \(pool.refCount(b)) but held by \(holders[b]) tables")
        }
        if sequenceCount != slots.indices.filter({ slots[$0].live }).count {
            problems.append("free slot list disagrees with live slots")
        }
        return problems
    }
}
