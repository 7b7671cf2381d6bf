#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory (one `mmap`, released in `deinit`).
/// Tensor views point straight into `bytes`, so weights are never copied or read twice.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    private let base: UnsafeMutableRawPointer?
    private let count: Int
    private let isMapped: Bool

    /// The file's bytes; valid while this object lives.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    public init(path: String) throws(CheckpointError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .fileNotFound(path: path) }
            throw .io(path: path, what: String(cString: strerror(code)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(path: path, what: String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .io(path: path, what: "not a regular file") }
        let size = Int(info.st_size)
        isMapped = size > 0
        count = size
        if size == 0 { base = nil; return }  // mmap rejects length 0; an empty buffer is the honest view
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw .io(path: path, what: "mmap failed: \(String(cString: strerror(errno)))") }
        base = p
    }

    /// An in-memory "file" holding a copy of `bytes`, named `path` in errors.
    /// Used by tests and the fuzz harness to parse mutated inputs without touching disk.
    public init(bytes source: [UInt8], path: String) {
        self.path = path
        count = source.count
        isMapped = false
        if source.isEmpty { base = nil; return }
        // 64-byte alignment matches what mmap gives (page aligned) closely enough for typed loads.
        let p = UnsafeMutableRawPointer.allocate(byteCount: source.count, alignment: 64)
        source.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        base = p
    }

    deinit {
        guard let base else { return }
        if isMapped { munmap(base, count) } else { base.deallocate() }
    }
}
