import Foundation
import Checkpoint
import Kernels

/// Turns checkpoint tensors into `ModelWeights`, checking every shape against
/// the config. Quantized GGUF blocks stay quantized unless `dequantize` is set;
/// f16/bf16 become f32 (the math is f32 throughout).
struct WeightLoader {
    let store: TensorStore
    let names: WeightNames
    let config: TransformerConfig
    let dequantize: Bool
    /// llama.cpp's converter interleaves the rotary halves of Q/K rows for the llama
    /// architecture; those rows are put back in Hugging Face order at load.
    let undoRotaryInterleave: Bool

    func load() throws(TransformerError) -> ModelWeights {
        let c = config
        let embedding = try linear(names.embedding, out: c.vocabSize, in: c.hiddenSize)
        var layers: [LayerWeights] = []
        layers.reserveCapacity(c.layerCount)
        for i in 0..<c.layerCount {
            func n(_ p: WeightNames.LayerPart) -> String { names.layer(i, p) }
            let qkv: Linear, gateUp: Linear
            if c.architecture == .phi3 {
                // Stored fused in the engine's own row order: q | k | v and gate | up.
                qkv = try linear(n(.qkv), out: c.qDim + 2 * c.kvDim, in: c.hiddenSize)
                gateUp = try linear(n(.gateUp), out: 2 * c.intermediateSize, in: c.hiddenSize)
            } else {
                var q = try linear(n(.q), out: c.qDim, in: c.hiddenSize, bias: c.attentionBias ? n(.qBias) : nil)
                var k = try linear(n(.k), out: c.kvDim, in: c.hiddenSize, bias: c.attentionBias ? n(.kBias) : nil)
                let v = try linear(n(.v), out: c.kvDim, in: c.hiddenSize, bias: c.attentionBias ? n(.vBias) : nil)
                if undoRotaryInterleave {
                    q = Self.unpermute(q, heads: c.headCount, headDim: c.headDim)
                    k = Self.unpermute(k, heads: c.kvHeadCount, headDim: c.headDim)
                }
                let gate = try linear(n(.gate), out: c.intermediateSize, in: c.hiddenSize, bias: biasIfPresent(n(.gate)))
                let up = try linear(n(.up), out: c.intermediateSize, in: c.hiddenSize, bias: biasIfPresent(n(.up)))
                qkv = try stack([q, k, v], first: n(.q))
                gateUp = try stack([gate, up], first: n(.gate))
            }
            layers.append(LayerWeights(
                attentionNorm: try vector(n(.attentionNorm), count: c.hiddenSize),
                qkv: qkv,
                output: try linear(n(.o), out: c.hiddenSize, in: c.qDim, bias: biasIfPresent(n(.o))),
                mlpNorm: try vector(n(.mlpNorm), count: c.hiddenSize),
                gateUp: gateUp,
                down: try linear(n(.down), out: c.hiddenSize, in: c.intermediateSize, bias: biasIfPresent(n(.down))),
                queryNorm: c.architecture == .qwen3 ? try vector(n(.qNorm), count: c.headDim) : nil,
                keyNorm: c.architecture == .qwen3 ? try vector(n(.kNorm), count: c.headDim) : nil))
        }
        let finalNorm = try vector(names.finalNorm, count: c.hiddenSize)
        let lmHead: Linear
        // Tied only when the config says so: Hugging Face leaves an untied model's missing
        // lm_head random, so a checkpoint without one is broken, not tied. (GGUF configs set
        // `tiedEmbeddings` from the absence of output.weight, llama.cpp's convention.)
        if c.tiedEmbeddings {
            lmHead = embedding
        } else {
            lmHead = try linear(names.lmHead, out: c.vocabSize, in: c.hiddenSize)
        }
        return ModelWeights(embedding: embedding, layers: layers, finalNorm: finalNorm, lmHead: lmHead)
    }

    private func tensor(_ name: String) throws(TransformerError) -> TensorView {
        if let t = store.tensor(name) { return t }
        do { return try store.require(name) } catch {
            if case .missingTensor = error { throw .missingTensor(store.path, name) }
            throw .checkpoint(error)
        }
    }

    private func check(_ t: TensorView, _ shape: [Int]) throws(TransformerError) {
        // A [n] vector may be stored as [1, n] by some exporters; compare element layout.
        let actual = t.shape.count > shape.count && t.shape.prefix(t.shape.count - shape.count).allSatisfy({ $0 == 1 })
            ? Array(t.shape.suffix(shape.count)) : t.shape
        guard actual == shape else { throw .wrongShape(store.path, t.name, expected: shape, actual: t.shape) }
    }

    /// The bias beside a weight ("….weight" → "….bias") when the checkpoint has one: Llama's
    /// `attention_bias` also gives o_proj a bias (Qwen2's does not), and `mlp_bias` gives the
    /// MLP projections one; a checkpoint holds exactly the biases its model uses.
    private func biasIfPresent(_ weight: String) -> String? {
        guard weight.hasSuffix(".weight") else { return nil }
        let name = String(weight.dropLast(".weight".count)) + ".bias"
        return store.tensor(name) != nil ? name : nil
    }

    private func floats(_ t: TensorView) throws(TransformerError) -> FloatBuffer {
        let b = FloatBuffer(count: t.elementCount, zeroed: false)
        t.dequantize(into: b.pointer)
        return b
    }

    private func vector(_ name: String, count: Int) throws(TransformerError) -> FloatBuffer {
        let t = try tensor(name)
        try check(t, [count])
        return try floats(t)
    }

    private func linear(_ name: String, out: Int, in inF: Int, bias: String? = nil) throws(TransformerError) -> Linear {
        let t = try tensor(name)
        try check(t, [out, inF])
        let b = try bias.map { (n: String) throws(TransformerError) -> FloatBuffer in try vector(n, count: out) }
        let format: BlockFormat?
        switch t.type {
        case .q4_0: format = .q4_0
        case .q4_1: format = .q4_1
        case .q8_0: format = .q8_0
        case .f32, .f16, .bf16, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: format = nil   // f32 at load
        }
        if let format, !dequantize {
            guard inF % BlockFormat.blockSize == 0, t.data.count == out * inF / 32 * format.blockBytes,
                  let base = t.data.baseAddress else {
                throw .unsupportedTensorType(store.path, name, t.type.rawValue)
            }
            let m = QuantizedMatrix(format: format, rows: out, columns: inF, data: base, owner: t.file)
            return Linear(inFeatures: inF, outFeatures: out, storage: .quantized(m), bias: b, owner: m)
        }
        return Linear(weights: try floats(t), inFeatures: inF, outFeatures: out, bias: b)
    }

    private func stack(_ parts: [Linear], first: String) throws(TransformerError) -> Linear {
        func kind(_ l: Linear) -> String {
            switch l.storage {
            case .f32: return "f32"
            case .quantized(let q): return "\(q.format)"
            }
        }
        // Mixed formats (e.g. q4_1 attention with a q8_0 value matrix) are stacked in f32.
        if Set(parts.map(kind)).count > 1 {
            let converted = parts.map { p -> Linear in
                let w = FloatBuffer(count: p.outFeatures * p.inFeatures, zeroed: false)
                for r in 0..<p.outFeatures { p.row(r, into: w.pointer + r * p.inFeatures) }
                return Linear(weights: w, inFeatures: p.inFeatures, outFeatures: p.outFeatures, bias: p.bias)
            }
            return Linear.stacking(converted)
        }
        return Linear.stacking(parts)
    }

    /// HF row h·d + t·(d/2) + j is stored by llama.cpp at row h·d + 2j + t.
    static func unpermute(_ l: Linear, heads: Int, headDim: Int) -> Linear {
        let half = headDim / 2
        var order = [Int](repeating: 0, count: l.outFeatures)   // order[hfRow] = ggufRow
        for h in 0..<heads { for t in 0..<2 { for j in 0..<half {
            order[h * headDim + t * half + j] = h * headDim + 2 * j + t
        } } }
        let bias = l.bias.map { b -> FloatBuffer in
            let nb = FloatBuffer(count: b.count, zeroed: false)
            for (r, src) in order.enumerated() { nb[r] = b[src] }
            return nb
        }
        switch l.storage {
        case .f32(let w):
            let nw = FloatBuffer(count: l.outFeatures * l.inFeatures, zeroed: false)
            for (r, src) in order.enumerated() {
                (nw.pointer + r * l.inFeatures).update(from: w + src * l.inFeatures, count: l.inFeatures)
            }
            return Linear(weights: nw, inFeatures: l.inFeatures, outFeatures: l.outFeatures, bias: bias)
        case .quantized(let q):
            let m = QuantizedMatrix.permutingRows(q, order: order)
            return Linear(inFeatures: l.inFeatures, outFeatures: l.outFeatures, storage: .quantized(m), bias: bias, owner: m)
        }
    }
}
