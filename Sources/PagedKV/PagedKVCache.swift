import Kernels

/// Identifies a sequence in a PagedKVCache. Encodes slot | generation << 32, so an id
/// kept after `free` is recognised as stale instead of aliasing a newer sequence.
public typealias SequenceID = Int

/// A sequence's blocks in position order: token p sits in blocks[p / blockSize], row p % blockSize.
/// blocks.count == ceil(length / blockSize).
public struct BlockTable: Sendable, Equatable {
    public internal(set) var blocks: [Int]
    public internal(set) var length: Int
}

/// Paged, reference-counted, copy-on-write KV cache (vLLM's block manager, in process).
///
/// Sequences share blocks after `fork`; only the partial last block is ever copied. A holder
/// whose length ends where the block's written rows end (`BlockPool.fill`: no one has
/// written past it) appends into the shared block in place, since every other holder reads
/// only rows below its own length; a holder behind that point copies its rows first. So of
/// the children forked mid-block the first to write keeps the block and the others copy
/// (vLLM copies for every writer while the block is shared). Full blocks are never copied.
/// Not thread-safe: one owner drives it.
public final class PagedKVCache {
    public let pool: BlockPool

    struct Slot {
        var blocks: [Int] = []
        var length = 0
        var generation = 0
        var live = false
    }

    /// Indexed by the low 32 bits of a SequenceID.
    @exclusivity(unchecked) var slots: [Slot] = []
    private var freeSlots: [Int] = []
    private let blockSize: Int
    /// Bytes of one K (or V) row of one layer, and of one layer's K (or V) part of a block.
    private let rowBytes: Int, layerPartBytes: Int
    /// Blocks copied by copy-on-write since creation (each copy = one shared partial last block
    /// that its holder could not extend in place).
    public private(set) var copiedBlocks = 0

    public init(pool: BlockPool) {
        self.pool = pool
        blockSize = pool.layout.blockSize
        rowBytes = pool.layout.rowElements * pool.layout.precision.bytes
        layerPartBytes = pool.layout.layerPartElements * pool.layout.precision.bytes
    }

    deinit {
        for s in slots.indices where slots[s].live {
            for b in slots[s].blocks { pool.release(b) }
        }
    }

    // MARK: - Ids

    @inline(__always)
    func slotIndex(_ seq: SequenceID) -> Int? {
        let s = seq & 0xFFFF_FFFF
        guard seq >= 0, s < slots.count, slots[s].live, slots[s].generation == seq >> 32 else { return nil }
        return s
    }

    @inline(__always)
    private func id(ofSlot s: Int) -> SequenceID { s | (slots[s].generation << 32) }

    private func newSlot(blocks: [Int], length: Int) -> SequenceID {
        let s: Int
        if let reused = freeSlots.popLast() {
            s = reused
        } else {
            s = slots.count
            slots.append(Slot())
        }
        slots[s].blocks = blocks
        slots[s].length = length
        slots[s].live = true
        return id(ofSlot: s)
    }

    public func contains(_ seq: SequenceID) -> Bool { slotIndex(seq) != nil }

    /// Live sequences, in slot order.
    public var sequences: [SequenceID] {
        slots.indices.filter { slots[$0].live }.map { id(ofSlot: $0) }
    }

    public var sequenceCount: Int { slots.count - freeSlots.count }

    // MARK: - Lifecycle

    /// A new empty sequence (holds no blocks until its first append).
    public func createSequence() -> SequenceID {
        var blocks: [Int] = []
        blocks.reserveCapacity(16)
        return newSlot(blocks: blocks, length: 0)
    }

    /// A child holding every block of `parent` (refCount + 1 each); copies no keys or values.
    public func fork(_ parent: SequenceID) throws(KVError) -> SequenceID {
        guard let p = slotIndex(parent) else { throw .unknownSequence(parent) }
        var blocks: [Int] = []
        blocks.reserveCapacity(slots[p].blocks.count + 16)
        blocks.append(contentsOf: slots[p].blocks)
        for b in blocks { pool.retain(b) }
        return newSlot(blocks: blocks, length: slots[p].length)
    }

    /// Releases the sequence's blocks. Unknown or already freed ids are ignored.
    public func free(_ seq: SequenceID) {
        guard let s = slotIndex(seq) else { return }
        for b in slots[s].blocks { pool.release(b) }
        slots[s].blocks.removeAll(keepingCapacity: true)
        slots[s].length = 0
        slots[s].live = false
        slots[s].generation += 1
        freeSlots.append(s)
    }

    /// Frees every live sequence not in `seqs` (prunes the rest of a search tree at once).
    public func keepOnly(_ seqs: Set<SequenceID>) {
        for s in slots.indices where slots[s].live {
            let seq = id(ofSlot: s)
            if !seqs.contains(seq) { free(seq) }
        }
    }

    // MARK: - Length

    /// Length of a live sequence; 0 for an unknown or freed id.
    public func length(_ seq: SequenceID) -> Int {
        guard let s = slotIndex(seq) else { return 0 }
        return slots[s].length
    }

    /// Block table of a live sequence; empty for an unknown or freed id.
    public func table(_ seq: SequenceID) -> BlockTable {
        guard let s = slotIndex(seq) else { return BlockTable(blocks: [], length: 0) }
        return BlockTable(blocks: slots[s].blocks, length: slots[s].length)
    }

    /// Blocks `append(seq, count:)` would take from the pool: new blocks past the last one,
    /// plus one when the partial last block is shared and written past `seq`'s end
    /// (copy-on-write). 0 for an unknown id.
    public func blocksNeeded(forAppending count: Int, to seq: SequenceID) -> Int {
        guard let s = slotIndex(seq), count > 0 else { return 0 }
        return blocksNeeded(slot: s, count: count).total
    }

    /// At most what `append(seq, count:)` takes from the pool whatever other sequences
    /// append first: `blocksNeeded`, plus a copy of a shared partial last block that `seq`
    /// could extend in place now (a sibling at the same length may write there first). For
    /// reserving room for several appends at once, as a batched forward makes them.
    public func blocksNeededAtMost(forAppending count: Int, to seq: SequenceID) -> Int {
        guard let s = slotIndex(seq), count > 0 else { return 0 }
        let need = blocksNeeded(slot: s, count: count)
        return need.total + (need.sharedPartial && !need.copyLast ? 1 : 0)
    }

    @inline(__always)
    private func blocksNeeded(slot s: Int, count: Int) -> (total: Int, copyLast: Bool, sharedPartial: Bool) {
        let length = slots[s].length
        let held = slots[s].blocks.count
        let after = (length + count + blockSize - 1) / blockSize
        // Rows remain free in the last block and someone else holds it; if someone has also
        // written past this sequence's end in it, it must be copied before writing.
        let rows = length % blockSize
        let sharedPartial = rows != 0 && pool.refCount(slots[s].blocks[held - 1]) > 1
        let copyLast = sharedPartial && pool.fill(slots[s].blocks[held - 1]) != rows
        return (after - held + (copyLast ? 1 : 0), copyLast, sharedPartial)
    }

    /// Reserves `count` more token slots at the end of `seq`: copy-on-write of a shared
    /// partial last block written past `seq`'s end, new blocks when full. All-or-nothing:
    /// on outOfBlocks nothing changes. Returns the first new position (the old length).
    /// The caller writes the new rows through keyRow/valueRow for every layer.
    @discardableResult
    public func append(_ seq: SequenceID, count: Int) throws(KVError) -> Int {
        guard let s = slotIndex(seq) else { throw .unknownSequence(seq) }
        let start = slots[s].length
        guard count >= 0 else { throw .invalidLength(sequence: seq, requested: start + count, current: start) }
        guard count > 0 else { return start }
        let need = blocksNeeded(slot: s, count: count)
        guard need.total <= pool.freeCount else { throw .outOfBlocks(needed: need.total, free: pool.freeCount) }
        if need.copyLast {
            let old = slots[s].blocks[slots[s].blocks.count - 1]
            guard let fresh = pool.allocate() else { preconditionFailure("free count lied") }
            pool.copyRows(from: old, to: fresh, rows: start % blockSize)
            pool.release(old)
            copiedBlocks += 1
            slots[s].blocks[slots[s].blocks.count - 1] = fresh
        }
        let after = (start + count + blockSize - 1) / blockSize
        while slots[s].blocks.count < after {
            guard let fresh = pool.allocate() else { preconditionFailure("free count lied") }
            slots[s].blocks.append(fresh)
        }
        // The blocks this append writes are filled up to its end (or wholly, before the last).
        let end = start + count
        for j in start / blockSize..<after {
            pool.setFill(slots[s].blocks[j], min(blockSize, end - j * blockSize))
        }
        slots[s].length = end
        return start
    }

    /// Shortens `seq` to `length` tokens (undo past a step boundary), releasing blocks no
    /// longer needed. Rows past the new length are dropped; a shared last block stays shared.
    public func truncate(_ seq: SequenceID, to length: Int) throws(KVError) {
        guard let s = slotIndex(seq) else { throw .unknownSequence(seq) }
        let current = slots[s].length
        guard length >= 0 && length <= current else {
            throw .invalidLength(sequence: seq, requested: length, current: current)
        }
        let keep = (length + blockSize - 1) / blockSize
        while slots[s].blocks.count > keep {
            pool.release(slots[s].blocks.removeLast())
        }
        // A last block held by this sequence alone is written only up to the new length now
        // (a shared one keeps its fill: other holders may cover the rows past it).
        if length % blockSize != 0, let last = slots[s].blocks.last, pool.refCount(last) == 1 {
            pool.setFill(last, length % blockSize)
        }
        slots[s].length = length
    }

    // MARK: - Rows (hot path: no allocation, no dictionary)

    /// Key row of `position` in `layer`: [kvHeads * headDim] elements of the layout's
    /// precision. Precondition: position < length.
    @inline(__always)
    public func keyRowBytes(_ seq: SequenceID, layer: Int, position: Int) -> UnsafeMutableRawPointer {
        let s = seq & 0xFFFF_FFFF
        precondition(slotIndex(seq) != nil && position >= 0 && position < slots[s].length, "row out of range")
        return pool.keys(block: slots[s].blocks[position / blockSize], layer: layer)
            + (position % blockSize) * rowBytes
    }

    /// Value row of `position` in `layer`, as `keyRowBytes`.
    @inline(__always)
    public func valueRowBytes(_ seq: SequenceID, layer: Int, position: Int) -> UnsafeMutableRawPointer {
        keyRowBytes(seq, layer: layer, position: position) + layerPartBytes   // [layers][K|V]: V follows K
    }

    /// Key row of an f32 cache as floats: [kvHeads * headDim].
    @inline(__always)
    public func keyRow(_ seq: SequenceID, layer: Int, position: Int) -> UnsafeMutablePointer<Float> {
        precondition(pool.layout.precision == .f32, "keyRow: the cache holds \(pool.layout.precision)")
        return keyRowBytes(seq, layer: layer, position: position).assumingMemoryBound(to: Float.self)
    }

    /// Value row of an f32 cache as floats: [kvHeads * headDim].
    @inline(__always)
    public func valueRow(_ seq: SequenceID, layer: Int, position: Int) -> UnsafeMutablePointer<Float> {
        precondition(pool.layout.precision == .f32, "valueRow: the cache holds \(pool.layout.precision)")
        return valueRowBytes(seq, layer: layer, position: position).assumingMemoryBound(to: Float.self)
    }

    /// Writes one position's key and value rows ([kvHeads * headDim] floats each), rounded
    /// to f16 when the cache holds halves. One lookup: a layer's value rows follow its key
    /// rows in the block (`layerPartBytes` on).
    @inline(__always)
    public func store(_ seq: SequenceID, layer: Int, position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        let k = keyRowBytes(seq, layer: layer, position: position)
        write(key, to: k)
        write(value, to: k + layerPartBytes)
    }

    /// One position's key and value rows as floats (into [kvHeads * headDim] each).
    public func load(_ seq: SequenceID, layer: Int, position: Int, key: UnsafeMutablePointer<Float>,
                     value: UnsafeMutablePointer<Float>) {
        let k = keyRowBytes(seq, layer: layer, position: position)
        read(k, into: key)
        read(k + layerPartBytes, into: value)
    }

    /// One row of floats into the cache's element type.
    @inline(__always)
    private func write(_ src: UnsafePointer<Float>, to dst: UnsafeMutableRawPointer) {
        let n = pool.layout.rowElements
        if pool.layout.precision == .f16 { Half.store(src, count: n, into: dst) } else { dst.copyMemory(from: src, byteCount: n * 4) }
    }

    /// One cached row as floats.
    private func read(_ src: UnsafeRawPointer, into dst: UnsafeMutablePointer<Float>) {
        let n = pool.layout.rowElements
        if pool.layout.precision == .f16 { Half.load(src, count: n, into: dst) } else {
            dst.update(from: src.assumingMemoryBound(to: Float.self), count: n)
        }
    }
}
