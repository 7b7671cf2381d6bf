import CJemalloc
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

/// Large read-mostly memory (the row-tile weight copies): 2 MiB aligned and advised for
/// transparent huge pages where it spans at least one, so streaming it each decode step
/// does not walk a 4 KiB page table entry every 4 KiB. Freed on deinit.
public final class HugePageAllocation: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let byteCount: Int   // as asked (the allocation is rounded up to its alignment)

    public init(byteCount: Int) {
        let huge = 2 << 20
        let alignment = byteCount >= huge ? huge : 64
        let size = max((byteCount + alignment - 1) / alignment * alignment, alignment)
        var p: UnsafeMutableRawPointer? = nil
        let rc = posix_memalign(&p, alignment, size)
        precondition(rc == 0 && p != nil, "posix_memalign(\(size)) failed")
        if alignment == huge { _ = madvise(p, size, MADV_HUGEPAGE) }   // advice only: ignored where THP is off
        pointer = p!
        self.byteCount = byteCount
    }

    deinit { free(pointer) }
}
