import Foundation

/// Vocabulary spelling (UTF-8 bytes) → id, open addressing over one flat byte
/// buffer. Swift's `[String: Int]` hashes non-ASCII strings through Unicode
/// normalisation, which made loading 151k Qwen tokens and their merges several
/// times slower; byte-wise keys are also exactly what the vocabulary means.
struct SpellingTable {
    private var keyBytes: [UInt8] = []
    /// [entries + 1]: entry e is keyBytes[keyStart[e]..<keyStart[e + 1]].
    private var keyStart: [Int32] = [0]
    private var ids: [Int32] = []
    /// [power of two]: (hash high 32 bits << 32) | (entry index + 1); 0 when empty.
    /// The stored hash lets probes skip other keys without touching their bytes.
    private var slots: [UInt64]
    private var mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        keyBytes.reserveCapacity(capacity * 8)
        keyStart.reserveCapacity(capacity + 1)
        ids.reserveCapacity(capacity)
    }

    var count: Int { ids.count }

    @inline(__always)
    private static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        // FNV-1a, then a final mix so the low bits used for the slot are well spread.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        h ^= h >> 29
        h = h &* 0xbf58_476d_1ce4_e5b9
        h ^= h >> 32
        return Int(truncatingIfNeeded: h)
    }

    /// Slot holding `key`, or the empty slot where it would go.
    private func find(_ key: UnsafeBufferPointer<UInt8>, hash h: Int) -> Int {
        var slot = h & mask
        let tag = UInt64(UInt32(truncatingIfNeeded: h >> 32)) << 32
        keyBytes.withUnsafeBufferPointer { all in
            slots.withUnsafeBufferPointer { table in
                while true {
                    let v = table[slot]
                    if v == 0 { return }
                    if v & 0xFFFF_FFFF_0000_0000 == tag {
                        let e = Int(v & 0xFFFF_FFFF) - 1
                        let a = Int(keyStart[e]), b = Int(keyStart[e + 1])
                        if b - a == key.count && (key.count == 0 || memcmp(all.baseAddress! + a, key.baseAddress!, key.count) == 0) { return }
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
        return slot
    }

    /// Adds `key` → `id` unless `key` is present (the first id wins). Returns whether it was added.
    @discardableResult
    mutating func insert(_ key: UnsafeBufferPointer<UInt8>, id: Int32) -> Bool {
        if (ids.count + 1) * 2 > slots.count { grow() }
        let h = Self.hash(key)
        let slot = find(key, hash: h)
        if slots[slot] != 0 { return false }
        keyBytes.append(contentsOf: key)
        keyStart.append(Int32(keyBytes.count))
        ids.append(id)
        slots[slot] = Self.slotValue(hash: h, entry: ids.count - 1)
        return true
    }

    @discardableResult
    mutating func insert(_ key: String, id: Int32) -> Bool {
        var k = key
        return k.withUTF8 { insert($0, id: id) }
    }

    func lookup(_ key: UnsafeBufferPointer<UInt8>) -> Int32? {
        let v = slots[find(key, hash: Self.hash(key))]
        return v == 0 ? nil : ids[Int(v & 0xFFFF_FFFF) - 1]
    }

    func lookup(_ key: String) -> Int32? {
        var k = key
        return k.withUTF8 { lookup($0) }
    }

    func lookup(_ key: [UInt8]) -> Int32? {
        key.withUnsafeBufferPointer { lookup($0) }
    }

    @inline(__always)
    private static func slotValue(hash h: Int, entry: Int) -> UInt64 {
        UInt64(UInt32(truncatingIfNeeded: h >> 32)) << 32 | UInt64(entry + 1)
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        for e in 0..<ids.count {
            let a = Int(keyStart[e]), b = Int(keyStart[e + 1])
            let h = keyBytes.withUnsafeBufferPointer { Self.hash(UnsafeBufferPointer(rebasing: $0[a..<b])) }
            var s = h & mask
            while slots[s] != 0 { s = (s + 1) & mask }
            slots[s] = Self.slotValue(hash: h, entry: e)
        }
    }
}
