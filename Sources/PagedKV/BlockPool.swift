/// Fixed set of KV blocks, all allocated up front in one 64-byte aligned region,
/// with a free list and a reference count per block id.
///
/// Block storage is not zeroed: rows are written before they are read (a row is
/// only readable at positions < a sequence's length). Not thread-safe: one owner.
public final class BlockPool {
    public let layout: KVLayout
    public let blockCount: Int
    /// [blockCount, blockElements] elements of layout.precision
    let storage: UnsafeMutableRawPointer
    /// refCounts[b] = number of block tables holding block b; 0 for free blocks.
    @exclusivity(unchecked) private var refCounts: [Int32]
    /// Stack of free block ids.
    @exclusivity(unchecked) private var freeList: [Int]
    /// fills[b] = rows [0, fills[b]) of block b written by some holder since it was
    /// allocated: a holder whose length ends exactly there may append in place even while
    /// the block is shared (`PagedKVCache.append`); 0 for free blocks.
    @exclusivity(unchecked) private var fills: [Int32]

    public init(layout: KVLayout, blockCount: Int) {
        precondition(blockCount >= 0)
        self.layout = layout
        self.blockCount = blockCount
        storage = UnsafeMutableRawPointer.allocate(byteCount: max(blockCount * layout.blockBytes, 1), alignment: 64)
        refCounts = [Int32](repeating: 0, count: blockCount)
        fills = [Int32](repeating: 0, count: blockCount)
        // Pop order 0, 1, 2, ... keeps early sequences in low addresses (easier to read in a debugger).
        freeList = Array((0..<blockCount).reversed())
        freeList.reserveCapacity(blockCount)
    }

    /// blockCount = memoryBytes / layout.blockBytes (rounded down).
    public convenience init(layout: KVLayout, memoryBytes: Int) {
        self.init(layout: layout, blockCount: max(memoryBytes, 0) / layout.blockBytes)
    }

    deinit { storage.deallocate() }

    public var freeCount: Int { freeList.count }
    public var usedCount: Int { blockCount - freeList.count }

    public func refCount(_ block: Int) -> Int {
        precondition(block >= 0 && block < blockCount, "block id out of range")
        return Int(refCounts[block])
    }

    /// Rows of `block` written so far (see `fills`).
    public func fill(_ block: Int) -> Int {
        precondition(block >= 0 && block < blockCount, "block id out of range")
        return Int(fills[block])
    }

    func setFill(_ block: Int, _ rows: Int) { fills[block] = Int32(rows) }

    /// Keys of one layer in one block: [blockSize, kvHeads * headDim] elements of layout.precision.
    @inline(__always)
    public func keys(block: Int, layer: Int) -> UnsafeMutableRawPointer {
        storage + (block * layout.blockElements + layer * 2 * layout.layerPartElements) * layout.precision.bytes
    }

    /// Values of one layer in one block: [blockSize, kvHeads * headDim] elements of layout.precision.
    @inline(__always)
    public func values(block: Int, layer: Int) -> UnsafeMutableRawPointer {
        storage + (block * layout.blockElements + (layer * 2 + 1) * layout.layerPartElements) * layout.precision.bytes
    }

    // MARK: - Reference counting (used by PagedKVCache)

    /// Takes a free block with refCount 1, or nil when none is free.
    func allocate() -> Int? {
        guard let b = freeList.popLast() else { return nil }
        precondition(refCounts[b] == 0, "free block \(b) is referenced")
        refCounts[b] = 1
        fills[b] = 0
        return b
    }

    func retain(_ block: Int) {
        precondition(refCounts[block] > 0, "retain of free block \(block)")
        refCounts[block] += 1
    }

    /// Drops one reference; the block returns to the free list at zero.
    func release(_ block: Int) {
        precondition(refCounts[block] > 0, "release of free block \(block)")
        refCounts[block] -= 1
        if refCounts[block] == 0 { freeList.append(block) }
    }

    /// Copies rows [0, rows) of every layer's K and V from block `from` to block `to`.
    func copyRows(from: Int, to: Int, rows: Int) {
        let bytes = rows * layout.rowElements * layout.precision.bytes
        guard bytes > 0 else { return }
        for layer in 0..<layout.layers {
            keys(block: to, layer: layer).copyMemory(from: keys(block: from, layer: layer), byteCount: bytes)
            values(block: to, layer: layer).copyMemory(from: values(block: from, layer: layer), byteCount: bytes)
        }
    }

    /// Free-list problems: duplicates, out-of-range ids, free blocks with references,
    /// and free + referenced != blockCount. Empty when consistent.
    public func checkInvariants() -> [String] {
        var problems: [String] = []
        var seen = [Bool](repeating: false, count: blockCount)
        for b in freeList {
            guard b >= 0 && b < blockCount else { problems.append("free list holds id \(b) out of range"); continue }
            if seen[b] { problems.append("block \(b) is twice in the free list") }
            seen[b] = true
            if refCounts[b] != 0 { problems.append("block \(b) is free but has refCount \(refCounts[b])") }
        }
        for b in 0..<blockCount {
            if refCounts[b] < 0 { problems.append("block \(b) has negative refCount \(refCounts[b])") }
            if refCounts[b] == 0 && !seen[b] { problems.append("block \(b) has refCount 0 but is not free (leak)") }
        }
        return problems
    }
}
