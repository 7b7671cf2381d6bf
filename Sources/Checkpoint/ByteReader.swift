/// Bounds-checked little-endian cursor over a byte buffer. Every read checks the
/// remaining length first, so a fuzzed file throws `truncated` instead of trapping.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    private(set) var offset: Int

    init(_ bytes: UnsafeRawBufferPointer, path: String, offset: Int = 0) {
        self.bytes = bytes
        self.path = path
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    @inline(__always)
    mutating func need(_ n: Int, _ what: @autoclosure () -> String) throws(CheckpointError) {
        if n < 0 || n > remaining { throw .truncated(path: path, what: what()) }
    }

    @inline(__always)
    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(CheckpointError) -> T {
        let n = MemoryLayout<T>.size
        if n > remaining { throw .truncated(path: path, what: what()) }
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += n
        return T(littleEndian: v)
    }

    mutating func u8(_ what: @autoclosure () -> String) throws(CheckpointError) -> UInt8 { try read(UInt8.self, what()) }
    mutating func u16(_ what: @autoclosure () -> String) throws(CheckpointError) -> UInt16 { try read(UInt16.self, what()) }
    mutating func u32(_ what: @autoclosure () -> String) throws(CheckpointError) -> UInt32 { try read(UInt32.self, what()) }
    mutating func u64(_ what: @autoclosure () -> String) throws(CheckpointError) -> UInt64 { try read(UInt64.self, what()) }

    /// `n` raw bytes as a sub-buffer (no copy).
    mutating func slice(_ n: Int, _ what: @autoclosure () -> String) throws(CheckpointError) -> UnsafeRawBufferPointer {
        try need(n, what())
        let s = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
        offset += n
        return s
    }

    /// `n` bytes decoded as UTF-8 (invalid sequences become U+FFFD rather than failing).
    mutating func string(_ n: Int, _ what: @autoclosure () -> String) throws(CheckpointError) -> String {
        let s = try slice(n, what())
        return String(decoding: s, as: UTF8.self)
    }

    mutating func skip(_ n: Int, _ what: @autoclosure () -> String) throws(CheckpointError) {
        try need(n, what())
        offset += n
    }

    mutating func seek(_ to: Int, _ what: @autoclosure () -> String) throws(CheckpointError) {
        if to < 0 || to > bytes.count { throw .truncated(path: path, what: what()) }
        offset = to
    }
}

/// Overflow-checked arithmetic for sizes read from files: nil means "does not fit in Int".
enum Checked {
    static func mul(_ a: Int, _ b: Int) -> Int? {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        return o ? nil : r
    }
    static func add(_ a: Int, _ b: Int) -> Int? {
        let (r, o) = a.addingReportingOverflow(b)
        return o ? nil : r
    }
    /// Product of non-negative dimensions; nil on a negative dimension or overflow.
    static func product(_ dims: [Int]) -> Int? {
        var p = 1
        for d in dims {
            guard d >= 0, let q = mul(p, d) else { return nil }
            p = q
        }
        return p
    }
    /// `UInt64` from a file as an `Int`, nil when it does not fit.
    static func int(_ v: UInt64) -> Int? { v <= UInt64(Int.max) ? Int(v) : nil }
}
