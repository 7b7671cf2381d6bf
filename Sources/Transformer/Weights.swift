import Foundation
import Checkpoint
import Kernels

/// One decoder layer's parameters, laid out for the forward pass.
final class LayerWeights: @unchecked Sendable {
    let attentionNorm: FloatBuffer      // [hidden]
    let qkv: Linear                     // [qDim + 2·kvDim, hidden], rows q | k | v
    let output: Linear                  // [hidden, qDim]
    let mlpNorm: FloatBuffer            // [hidden]
    let gateUp: Linear                  // [2·inter, hidden], rows gate | up
    let down: Linear                    // [hidden, inter]
    /// Qwen3: RMSNorm weights applied to each query / key head before RoPE.
    let queryNorm: FloatBuffer?         // [headDim]
    let keyNorm: FloatBuffer?           // [headDim]

    init(attentionNorm: FloatBuffer, qkv: Linear, output: Linear, mlpNorm: FloatBuffer, gateUp: Linear, down: Linear,
         queryNorm: FloatBuffer? = nil, keyNorm: FloatBuffer? = nil) {
        self.queryNorm = queryNorm
        self.keyNorm = keyNorm
        self.attentionNorm = attentionNorm
        self.qkv = qkv
        self.output = output
        self.mlpNorm = mlpNorm
        self.gateUp = gateUp
        self.down = down
    }
}

/// All parameters of a model. `lmHead` is `embedding` itself when tied.
final class ModelWeights: @unchecked Sendable {
    let embedding: Linear               // [vocab, hidden]
    let layers: [LayerWeights]
    let finalNorm: FloatBuffer          // [hidden]
    let lmHead: Linear                  // [vocab, hidden]

    init(embedding: Linear, layers: [LayerWeights], finalNorm: FloatBuffer, lmHead: Linear) {
        self.embedding = embedding
        self.layers = layers
        self.finalNorm = finalNorm
        self.lmHead = lmHead
    }

    var byteCount: Int {
        var total = embedding.weightBytes + finalNorm.count * 4
        if lmHead !== embedding { total += lmHead.weightBytes }
        for l in layers {
            total += l.qkv.weightBytes + l.output.weightBytes + l.gateUp.weightBytes + l.down.weightBytes
            total += (l.attentionNorm.count + l.mlpNorm.count) * 4
        }
        return total
    }
}

/// Tensor names of one checkpoint family (Hugging Face or GGUF).
struct WeightNames: Sendable {
    let embedding: String, finalNorm: String, lmHead: String
    let layer: @Sendable (Int, LayerPart) -> String

    enum LayerPart { case attentionNorm, q, k, v, qkv, o, qBias, kBias, vBias, qNorm, kNorm, mlpNorm, gate, up, gateUp, down }

    static let huggingFace = WeightNames(
        embedding: "model.embed_tokens.weight", finalNorm: "model.norm.weight", lmHead: "lm_head.weight",
        layer: { i, part in
            let p = "model.layers.\(i)."
            switch part {
            case .attentionNorm: return p + "input_layernorm.weight"
            case .q: return p + "self_attn.q_proj.weight"
            case .k: return p + "self_attn.k_proj.weight"
            case .v: return p + "self_attn.v_proj.weight"
            case .qkv: return p + "self_attn.qkv_proj.weight"
            case .o: return p + "self_attn.o_proj.weight"
            case .qBias: return p + "self_attn.q_proj.bias"
            case .kBias: return p + "self_attn.k_proj.bias"
            case .vBias: return p + "self_attn.v_proj.bias"
            case .qNorm: return p + "self_attn.q_norm.weight"
            case .kNorm: return p + "self_attn.k_norm.weight"
            case .mlpNorm: return p + "post_attention_layernorm.weight"
            case .gate: return p + "mlp.gate_proj.weight"
            case .up: return p + "mlp.up_proj.weight"
            case .gateUp: return p + "mlp.gate_up_proj.weight"
            case .down: return p + "mlp.down_proj.weight"
            }
        })

    static let gguf = WeightNames(
        embedding: "token_embd.weight", finalNorm: "output_norm.weight", lmHead: "output.weight",
        layer: { i, part in
            let p = "blk.\(i)."
            switch part {
            case .attentionNorm: return p + "attn_norm.weight"
            case .q: return p + "attn_q.weight"
            case .k: return p + "attn_k.weight"
            case .v: return p + "attn_v.weight"
            case .qkv: return p + "attn_qkv.weight"
            case .o: return p + "attn_output.weight"
            case .qBias: return p + "attn_q.bias"
            case .kBias: return p + "attn_k.bias"
            case .vBias: return p + "attn_v.bias"
            case .qNorm: return p + "attn_q_norm.weight"
            case .kNorm: return p + "attn_k_norm.weight"
            case .mlpNorm: return p + "ffn_norm.weight"
            case .gate: return p + "ffn_gate.weight"
            case .up: return p + "ffn_up.weight"
            case .gateUp: return p + "ffn_up.weight"   // llama.cpp keeps Phi-3's fused [gate | up] as ffn_up
            case .down: return p + "ffn_down.weight"
            }
        })
}
