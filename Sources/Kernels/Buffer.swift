import CJemalloc
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A fixed-size, 64-byte aligned float buffer owned by Swift code (weights that
/// had to be converted, activations, scratch). Freed on deinit.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int, zeroed: Bool = true) {
        precondition(count >= 0)
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        if zeroed { pointer.initialize(repeating: 0, count: max(count, 1)) }
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count, zeroed: false)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    public subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// Process-wide allocator facts (jemalloc is linked as the process malloc).
public enum Allocator {
    /// True when the symbol `malloc` resolves to jemalloc: jemalloc's
    /// `mallctl("version")` answers only when it owns the heap.
    public static var jemallocVersion: String? {
        var ptr: UnsafePointer<CChar>? = nil
        var size = MemoryLayout<UnsafePointer<CChar>?>.size
        let rc = mallctl("version", &ptr, &size, nil, 0)
        guard rc == 0, let p = ptr else { return nil }
        return String(cString: p)
    }

    /// Bytes jemalloc reports as allocated by the application (after an epoch refresh).
    public static var allocatedBytes: Int? {
        var epochOut: UInt64 = 0
        var epochIn: UInt64 = 1
        var esz = MemoryLayout<UInt64>.size
        _ = mallctl("epoch", &epochOut, &esz, &epochIn, esz)
        var value: Int = 0
        var size = MemoryLayout<Int>.size
        guard mallctl("stats.allocated", &value, &size, nil, 0) == 0 else { return nil }
        return value
    }

    /// Peak resident set size of this process in bytes (Linux getrusage reports KiB).
    public static var peakResidentBytes: Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Int(usage.ru_maxrss) * 1024
    }
}

/// Large read-mostly memory (the row-tile weight copies) on transparent huge pages, so
/// streaming it each decode step does not walk a 4 KiB page-table entry every 4 KiB.
/// An allocation of at least 2 MiB gets its own 2 MiB-aligned, advised block; a smaller
/// one (most of a small model's matrices: SmolLM2's are 0.2–1.1 MB) is carved from a
/// shared huge-page chunk, so that the weights of all layers lie on huge pages (only the
/// 30 MB LM head did before: 1.6–2.2 % of a 4-sibling decode step on SmolLM2, the same
/// steps alternating between the two layouts). Freed on deinit (a chunk when its last
/// allocation goes).
public final class HugePageAllocation: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let byteCount: Int   // as asked (the allocation is rounded up to its alignment)
    private let chunk: HugePageChunk

    static let hugePage = 2 << 20

    public init(byteCount: Int) {
        if byteCount >= Self.hugePage {
            chunk = HugePageChunk(byteCount: byteCount)
            pointer = chunk.base
        } else {
            (chunk, pointer) = HugePageChunk.carve(max(byteCount, 1))
        }
        self.byteCount = byteCount
    }
}

/// One 2 MiB-aligned block advised for huge pages; small allocations are carved from the
/// newest one in 64-byte steps while it has room.
private final class HugePageChunk: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let size: Int
    private var used = 0   // guarded by `current`'s lock

    /// The chunk small allocations come from: weak, so a chunk whose allocations are all
    /// gone is freed rather than kept for the next one.
    private static let current = Mutex<Weak>(Weak())
    private struct Weak: @unchecked Sendable { weak var chunk: HugePageChunk? }
    static let carveSize = 16 * HugePageAllocation.hugePage

    init(byteCount: Int) {
        let huge = HugePageAllocation.hugePage
        size = (byteCount + huge - 1) / huge * huge
        var p: UnsafeMutableRawPointer? = nil
        let rc = posix_memalign(&p, huge, size)
        precondition(rc == 0 && p != nil, "posix_memalign(\(size)) failed")
        _ = madvise(p, size, MADV_HUGEPAGE)   // advice only: ignored where THP is off
        base = p!
    }

    deinit { free(base) }

    /// A 64-byte aligned run of `bytes` (< 2 MiB) in the current chunk, or in a new one.
    static func carve(_ bytes: Int) -> (HugePageChunk, UnsafeMutableRawPointer) {
        let rounded = (bytes + 63) & ~63
        return current.withLock { slot in
            if let c = slot.chunk, c.used + rounded <= c.size {
                defer { c.used += rounded }
                return (c, c.base + c.used)
            }
            let c = HugePageChunk(byteCount: carveSize)
            c.used = rounded
            slot.chunk = c
            return (c, c.base)
        }
    }
}
