import Foundation

/// Element type of the cached keys and values. f16 halves the bytes a decode step's
/// attention reads (llama.cpp's default cache type); only where the AVX-512 attention
/// kernel runs (it converts with F16C as it loads).
public enum KVPrecision: String, Sendable, Codable, CaseIterable {
    case f32, f16

    /// Bytes of one element.
    public var bytes: Int { self == .f32 ? 4 : 2 }

    /// `SPRIG_KV` when set to f32 or f16 (A/B measurements), else nil (the model's choice).
    public static let environmentChoice: KVPrecision? = {
        guard let v = ProcessInfo.processInfo.environment["SPRIG_KV"] else { return nil }
        return KVPrecision(rawValue: v.trimmingCharacters(in: .whitespaces).lowercased())
    }()
}

/// Shape of the cached keys and values.
///
/// One block holds `blockSize` consecutive tokens of one sequence for every layer:
/// block = [layers][K|V][blockSize][kvHeads * headDim] elements of `precision`.
public struct KVLayout: Sendable, Equatable, Codable {
    public var layers: Int
    public var kvHeads: Int
    public var headDim: Int
    /// Tokens per block (e.g. 16 or 32).
    public var blockSize: Int
    public var precision: KVPrecision

    /// All four sizes must be positive (the model config loader validates them).
    public init(layers: Int, kvHeads: Int, headDim: Int, blockSize: Int, precision: KVPrecision = .f32) {
        precondition(layers > 0 && kvHeads > 0 && headDim > 0 && blockSize > 0,
                     "KVLayout: layers, kvHeads, headDim, blockSize must be positive")
        self.layers = layers
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.blockSize = blockSize
        self.precision = precision
    }

    enum CodingKeys: String, CodingKey { case layers, kvHeads, headDim, blockSize, precision }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(layers: try c.decode(Int.self, forKey: .layers), kvHeads: try c.decode(Int.self, forKey: .kvHeads),
                  headDim: try c.decode(Int.self, forKey: .headDim), blockSize: try c.decode(Int.self, forKey: .blockSize),
                  precision: try c.decodeIfPresent(KVPrecision.self, forKey: .precision) ?? .f32)
    }

    /// Elements of one token, one layer, K or V.
    public var rowElements: Int { kvHeads * headDim }
    /// Elements of one layer's K (or V) part of a block: [blockSize, rowElements].
    public var layerPartElements: Int { blockSize * rowElements }
    /// Elements of one whole block.
    public var blockElements: Int { layers * 2 * layerPartElements }
    public var blockBytes: Int { blockElements * precision.bytes }
    /// Bytes of K and V of one token over all layers.
    public var bytesPerToken: Int { layers * 2 * rowElements * precision.bytes }
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
