/// Read-only view of a zip archive inside a mapped file (what `torch.save` writes):
/// end-of-central-directory record (zip64 too), central directory, local headers.
/// Only stored (uncompressed) entries can be read; their CRC-32 is verified.
struct ZipArchive {
    struct Entry {
        let name: String
        let method: UInt16
        let flags: UInt16
        let crc: UInt32
        let compressedSize: Int
        let size: Int
        let localHeaderOffset: Int
    }

    let file: MappedFile
    /// Entries in central-directory order.
    let entries: [Entry]
    private let byName: [String: Int]

    init(file: MappedFile) throws(CheckpointError) {
        self.file = file
        let path = file.path
        let bytes = file.bytes
        var r = ByteReader(bytes, path: path)
        // EOCD is 22 bytes plus a comment of at most 65535 bytes, at the very end.
        guard bytes.count >= 22 else { throw .truncated(path: path, what: "zip end-of-central-directory record") }
        var eocd = -1
        var i = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65535)
        while i >= lowest {
            if bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self) == 0x0605_4B50 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw .malformed(path: path, what: "not a zip archive (no end-of-central-directory record)") }
        try r.seek(eocd + 10, "zip end record")
        var count = Int(try r.u16("zip entry count"))
        var cdSize = Int(try r.u32("zip central directory size"))
        var cdOffset = Int(try r.u32("zip central directory offset"))
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            // Zip64: a 20-byte locator sits just before the EOCD and points at the zip64 end record.
            guard eocd >= 20 else { throw .truncated(path: path, what: "zip64 locator") }
            try r.seek(eocd - 20, "zip64 locator")
            guard try r.u32("zip64 locator") == 0x0706_4B50 else { throw .malformed(path: path, what: "zip64 locator missing") }
            try r.skip(4, "zip64 locator")
            guard let end64 = Checked.int(try r.u64("zip64 end record offset")) else { throw .truncated(path: path, what: "zip64 end record") }
            try r.seek(end64, "zip64 end record")
            guard try r.u32("zip64 end record") == 0x0606_4B50 else { throw .malformed(path: path, what: "zip64 end record missing") }
            try r.skip(8 + 2 + 2 + 4 + 4 + 8, "zip64 end record")
            let c = try r.u64("zip64 entry count")
            let s = try r.u64("zip64 central directory size")
            let o = try r.u64("zip64 central directory offset")
            guard let c2 = Checked.int(c), let s2 = Checked.int(s), let o2 = Checked.int(o) else {
                throw .malformed(path: path, what: "zip64 sizes do not fit")
            }
            (count, cdSize, cdOffset) = (c2, s2, o2)
        }
        guard let cdEnd = Checked.add(cdOffset, cdSize), cdEnd <= bytes.count, count <= cdSize / 46 + 1 else {
            throw .truncated(path: path, what: "zip central directory")
        }
        try r.seek(cdOffset, "zip central directory")
        var entries: [Entry] = []
        var byName: [String: Int] = [:]
        for _ in 0..<count {
            guard try r.u32("zip central directory entry") == 0x0201_4B50 else {
                throw .malformed(path: path, what: "bad zip central directory entry signature")
            }
            try r.skip(4, "zip entry")
            let flags = try r.u16("zip entry flags")
            let method = try r.u16("zip entry method")
            try r.skip(4, "zip entry")
            let crc = try r.u32("zip entry crc")
            var csize = UInt64(try r.u32("zip entry size"))
            var usize = UInt64(try r.u32("zip entry size"))
            let nameLen = Int(try r.u16("zip entry name length"))
            let extraLen = Int(try r.u16("zip entry extra length"))
            let commentLen = Int(try r.u16("zip entry comment length"))
            try r.skip(8, "zip entry")
            var local = UInt64(try r.u32("zip entry offset"))
            let name = try r.string(nameLen, "zip entry name")
            var extra = ByteReader(try r.slice(extraLen, "zip entry extra field"), path: path)
            try r.skip(commentLen, "zip entry comment")
            // Zip64 extended information (id 1) holds, in order, only the fields saturated above.
            while extra.remaining >= 4 {
                let id = try extra.u16("zip extra field")
                let len = Int(try extra.u16("zip extra field"))
                var field = ByteReader(try extra.slice(len, "zip extra field"), path: path)
                guard id == 1 else { continue }
                if usize == 0xFFFF_FFFF { usize = try field.u64("zip64 size") }
                if csize == 0xFFFF_FFFF { csize = try field.u64("zip64 size") }
                if local == 0xFFFF_FFFF { local = try field.u64("zip64 offset") }
            }
            guard let cs = Checked.int(csize), let us = Checked.int(usize), let lo = Checked.int(local) else {
                throw .malformed(path: path, what: "zip entry '\(name)' sizes do not fit")
            }
            guard byName[name] == nil else { throw .malformed(path: path, what: "zip entry '\(name)' appears twice") }
            byName[name] = entries.count
            entries.append(Entry(name: name, method: method, flags: flags, crc: crc,
                                 compressedSize: cs, size: us, localHeaderOffset: lo))
        }
        self.entries = entries
        self.byName = byName
    }

    func entry(_ name: String) -> Entry? { byName[name].map { entries[$0] } }

    /// The bytes of a stored entry, CRC-checked; no copy.
    func data(_ e: Entry) throws(CheckpointError) -> UnsafeRawBufferPointer {
        let path = file.path
        guard e.flags & 1 == 0 else { throw .unsupported(path: path, what: "zip entry '\(e.name)' is encrypted") }
        guard e.method == 0 else {
            throw .unsupported(path: path, what: "zip entry '\(e.name)' is compressed (method \(e.method)); only stored entries, as torch.save writes them, are read")
        }
        guard e.compressedSize == e.size else { throw .malformed(path: path, what: "stored zip entry '\(e.name)' has two sizes") }
        var r = ByteReader(file.bytes, path: path)
        try r.seek(e.localHeaderOffset, "local header of '\(e.name)'")
        guard try r.u32("local header of '\(e.name)'") == 0x0403_4B50 else {
            throw .malformed(path: path, what: "bad zip local header for '\(e.name)'")
        }
        try r.skip(22, "local header of '\(e.name)'")
        let nameLen = Int(try r.u16("local header of '\(e.name)'"))
        let extraLen = Int(try r.u16("local header of '\(e.name)'"))
        try r.skip(nameLen + extraLen, "local header of '\(e.name)'")
        let data = try r.slice(e.size, "zip entry '\(e.name)'")
        guard crc32(data) == e.crc else { throw .malformed(path: path, what: "zip entry '\(e.name)' fails its CRC-32 check") }
        return data
    }
}

private let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
}

/// CRC-32 (IEEE, reflected), as zip stores it.
func crc32(_ data: UnsafeRawBufferPointer) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    crcTable.withUnsafeBufferPointer { t in
        for b in data { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
    }
    return c ^ 0xFFFF_FFFF
}
