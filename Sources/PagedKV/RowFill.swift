extension PagedKVCache {
    /// Appends `count` positions to `seq` whose K and V rows, in every layer, are copies of
    /// the row at `source` (< length). For memory measurements that grow a large tree
    /// without decoding every token: the rows are really written, block by block, so the
    /// pages are touched as a decode would touch them. Returns the first new position.
    @discardableResult
    public func appendCopies(_ seq: SequenceID, count: Int, of source: Int) throws(KVError) -> Int {
        let current = length(seq)
        guard source >= 0 && source < current else {
            throw .invalidLength(sequence: seq, requested: source, current: current)
        }
        let start = try append(seq, count: count)
        let bytes = pool.layout.rowElements * pool.layout.precision.bytes
        for layer in 0..<pool.layout.layers {
            let k = keyRowBytes(seq, layer: layer, position: source)
            let v = valueRowBytes(seq, layer: layer, position: source)
            for p in start..<start + count {
                keyRowBytes(seq, layer: layer, position: p).copyMemory(from: k, byteCount: bytes)
                valueRowBytes(seq, layer: layer, position: p).copyMemory(from: v, byteCount: bytes)
            }
        }
        return start
    }
}
