/// Shape of the cached keys and values.
///
/// One block holds `blockSize` consecutive tokens of one sequence for every layer:
/// block = [layers][K|V][blockSize][kvHeads * headDim], f32.
public struct KVLayout: Sendable, Equatable, Codable {
    public var layers: Int
    public var kvHeads: Int
    public var headDim: Int
    /// Tokens per block (e.g. 16 or 32).
    public var blockSize: Int

    /// All four must be positive (the model config loader validates them).
    public init(layers: Int, kvHeads: Int, headDim: Int, blockSize: Int) {
        precondition(layers > 0 && kvHeads > 0 && headDim > 0 && blockSize > 0,
                     "KVLayout: layers, kvHeads, headDim, blockSize must be positive")
        self.layers = layers
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.blockSize = blockSize
    }

    /// Floats of one token, one layer, K or V.
    public var rowFloats: Int { kvHeads * headDim }
    /// Floats of one layer's K (or V) part of a block: [blockSize, rowFloats].
    public var layerPartFloats: Int { blockSize * rowFloats }
    /// Floats of one whole block.
    public var blockFloats: Int { layers * 2 * layerPartFloats }
    public var blockBytes: Int { blockFloats * MemoryLayout<Float>.stride }
    /// Bytes of K and V of one token over all layers.
    public var bytesPerToken: Int { layers * 2 * rowFloats * MemoryLayout<Float>.stride }
}

/// Errors of the paged KV cache.
public enum KVError: Error, CustomStringConvertible, Equatable {
    /// The pool has `free` blocks but the operation needs `needed`; nothing was changed.
    case outOfBlocks(needed: Int, free: Int)
    /// The id was never created, or its sequence was freed.
    case unknownSequence(Int)
    /// A length outside [0, current length] was asked of `truncate`, or a negative append count.
    case invalidLength(sequence: Int, requested: Int, current: Int)

    public var description: String {
        switch self {
        case let .outOfBlocks(needed, free):
            return "PagedKV: out of KV blocks (need \(needed), \(free) free)"
        case let .unknownSequence(id):
            return "PagedKV: unknown or freed sequence id \(id)"
        case let .invalidLength(seq, requested, current):
            return "PagedKV: invalid length \(requested) for sequence \(seq) of length \(current)"
        }
    }
}
