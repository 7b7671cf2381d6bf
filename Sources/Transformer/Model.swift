import Foundation
import Checkpoint
import Kernels
import PagedKV

/// A decoder-only transformer (Llama / Qwen2) that runs batched forward passes
/// over a paged KV cache. Not thread-safe: one forward at a time per model
/// (the pass itself uses every core through `WorkerPool`).
public final class TransformerModel: @unchecked Sendable {
    public let config: TransformerConfig
    /// The file or folder the weights came from.
    public let source: String
    let weights: ModelWeights
    let rope: Rope
    let workspace: Workspace
    /// Activation precision of the quantized-weight products (default: `SPRIG_ACTIVATIONS`,
    /// else f32). Set before a forward pass, not during one.
    public var activationPrecision: ActivationPrecision = .environment
    /// Forces the KV cache element type of caches made from now on (see `kvPrecision`);
    /// nil: the default choice.
    public var kvPrecisionOverride: KVPrecision?

    init(config: TransformerConfig, weights: ModelWeights, source: String) {
        self.config = config
        self.weights = weights
        self.source = source
        let freqs = config.ropeScaling?.inverseFrequencies(headDim: config.headDim, theta: config.ropeTheta)
        self.rope = Rope(headDim: config.headDim, theta: config.ropeTheta, inverseFrequencies: freqs)
        self.workspace = Workspace(config: config)
        // f32 weights that fit in the cores' L2 caches together are read from cache every
        // step: their products are compute-bound, and sgemm beats the streaming tiles from
        // two rows up (the default model: 10–20 % per step at 2–16 rows; SmolLM2 in f32,
        // streamed from memory, would lose 1.2–1.5×).
        let linears = [weights.lmHead] + weights.layers.flatMap { [$0.qkv, $0.output, $0.gateUp, $0.down] }
        let f32Bytes = linears.reduce(0) { total, l in
            if case .f32 = l.storage { return total + l.weightBytes } else { return total }
        }
        if f32Bytes > 0, f32Bytes <= WorkerPool.shared.threadCount * CacheSizes.l2Bytes {
            for l in linears { l.gemmRows = 2 }
        }
    }

    /// Bytes of parameters as held in memory (quantized blocks count as stored).
    public var weightBytes: Int { weights.byteCount }

    /// The activation precision decode products actually run with: `activationPrecision`
    /// when some weight matrix is quantized, else f32 (q8 applies to quantized weights only).
    public var effectiveActivationPrecision: ActivationPrecision {
        func quantized(_ l: Linear) -> Bool { if case .quantized = l.storage { return true } else { return false } }
        let any = quantized(weights.lmHead)
            || weights.layers.contains { quantized($0.qkv) || quantized($0.output) || quantized($0.gateUp) || quantized($0.down) }
        return any ? activationPrecision : .f32
    }

    /// Parameter count (embedding counted once when tied).
    public var parameterCount: Int {
        let c = config
        let perLayer = c.hiddenSize * (c.qDim + 2 * c.kvDim) + c.qDim * c.hiddenSize
            + 3 * c.hiddenSize * c.intermediateSize + 2 * c.hiddenSize
            + (c.architecture == .qwen3 ? 2 * c.headDim : 0)   // the per-head q/k norms
        return c.vocabSize * c.hiddenSize * (c.tiedEmbeddings ? 1 : 2) + c.layerCount * perLayer + c.hiddenSize
    }

    /// Element type of the caches this model makes (`kvLayout`, `makeCache`): f16 when the
    /// quantized products run q8 activations (search and bench by default; llama.cpp's
    /// numerics, whose default cache type is f16) and the AVX-512 attention kernel can read
    /// halves, else f32 (generate and logits stay exact). `SPRIG_KV` (f32 / f16) overrides
    /// the choice where the kernel allows. Read when a cache is made: set
    /// `activationPrecision` first.
    public var kvPrecision: KVPrecision {
        let halvesReadable = AttentionKernel.readsHalves(headDim: config.headDim, heads: config.headCount)
        if let forced = kvPrecisionOverride ?? KVPrecision.environmentChoice {
            return forced == .f16 && halvesReadable ? .f16 : .f32
        }
        return effectiveActivationPrecision == .q8 && halvesReadable ? .f16 : .f32
    }

    /// KV layout matching this model for a block size, in `kvPrecision`.
    public func kvLayout(blockSize: Int = 16) -> KVLayout {
        KVLayout(layers: config.layerCount, kvHeads: config.kvHeadCount, headDim: config.headDim, blockSize: blockSize,
                 precision: kvPrecision)
    }

    /// A cache for this model holding `memoryBytes` of K/V (blocks of `blockSize` tokens).
    public func makeCache(memoryBytes: Int, blockSize: Int = 16) -> PagedKVCache {
        PagedKVCache(pool: BlockPool(layout: kvLayout(blockSize: blockSize), memoryBytes: memoryBytes))
    }
}

/// One sequence's part of a batched forward pass.
public struct ForwardEntry: Sendable {
    public var sequence: SequenceID
    public var tokens: [Int]
    /// Logits (and the penultimate hidden state) for every token, or only the last.
    public var allPositions: Bool

    public init(sequence: SequenceID, tokens: [Int], allPositions: Bool = false) {
        self.sequence = sequence
        self.tokens = tokens
        self.allPositions = allPositions
    }
}

/// Results of one forward pass, valid until the next pass on the same model.
/// Rows follow the entries in order: one per entry, or one per token for
/// entries asking for all positions.
public struct ForwardOutput {
    public let rows: Int
    public let vocabSize: Int
    public let hiddenSize: Int
    let logitsBase: UnsafeMutablePointer<Float>     // [rows, vocab]
    let hiddenBase: UnsafeMutablePointer<Float>     // [rows, hidden]
    /// First output row of each entry.
    public let entryRow: [Int]

    public func logits(row: Int) -> UnsafeMutableBufferPointer<Float> {
        precondition(row >= 0 && row < rows)
        return UnsafeMutableBufferPointer(start: logitsBase + row * vocabSize, count: vocabSize)
    }

    /// The residual stream entering the last decoder layer (HF `hidden_states[-2]`),
    /// at the position that produced `logits(row:)`.
    public func penultimateHidden(row: Int) -> UnsafeBufferPointer<Float> {
        precondition(row >= 0 && row < rows)
        return UnsafeBufferPointer(start: hiddenBase + row * hiddenSize, count: hiddenSize)
    }
}

/// Activation buffers, grown to the largest batch seen and then reused, so the
/// decode loop does not allocate.
final class Workspace {
    let config: TransformerConfig
    private(set) var capacity = 0
    var x = FloatBuffer(count: 0)          // [rows, hidden]     residual stream
    var xn = FloatBuffer(count: 0)         // [rows, hidden]     normed
    var qkv = FloatBuffer(count: 0)        // [rows, qDim + 2·kvDim]
    var q = FloatBuffer(count: 0)          // [rows, qDim]       rotated queries, contiguous
    var attn = FloatBuffer(count: 0)       // [rows, qDim]
    var gateUp = FloatBuffer(count: 0)     // [rows, 2·inter]
    var act = FloatBuffer(count: 0)        // [rows, inter]
    var outRows = 0
    var hidden = FloatBuffer(count: 0)     // [outRows, hidden]
    var logits = FloatBuffer(count: 0)     // [outRows, vocab]
    var finalNormed = FloatBuffer(count: 0) // [outRows, hidden]
    var scoreScratch: [FloatBuffer] = []   // per worker: [context] attention scores
    var scratchLength = 0

    init(config: TransformerConfig) { self.config = config }

    func reserve(rows: Int, outRows: Int, context: Int, workers: Int) {
        let c = config
        if rows > capacity {
            capacity = max(rows, capacity * 2)
            x = FloatBuffer(count: capacity * c.hiddenSize)
            xn = FloatBuffer(count: capacity * c.hiddenSize)
            qkv = FloatBuffer(count: capacity * (c.qDim + 2 * c.kvDim))
            q = FloatBuffer(count: capacity * c.qDim)
            attn = FloatBuffer(count: capacity * c.qDim)
            gateUp = FloatBuffer(count: capacity * 2 * c.intermediateSize)
            act = FloatBuffer(count: capacity * c.intermediateSize)
        }
        if outRows > self.outRows {
            self.outRows = max(outRows, self.outRows * 2)
            hidden = FloatBuffer(count: self.outRows * c.hiddenSize)
            finalNormed = FloatBuffer(count: self.outRows * c.hiddenSize)
            logits = FloatBuffer(count: self.outRows * c.vocabSize)
        }
        if context > scratchLength || scoreScratch.count < workers {
            scratchLength = max(context, scratchLength * 2, 256)
            scoreScratch = (0..<workers).map { _ in FloatBuffer(count: scratchLength) }
        }
    }
}
