#!/usr/bin/env python3
"""Writes f32 GGUF files for llama.cpp, so it can run the same f32 weights as Sprig.

  to_gguf_f32.py --gguf IN.gguf OUT.gguf   every tensor of IN dequantized to f32, metadata kept
  to_gguf_f32.py --hf QWEN2_DIR OUT.gguf   a Hugging Face Qwen2 folder (safetensors) as an f32
                                           GGUF with a placeholder vocabulary (the benchmark
                                           feeds token ids, it never tokenizes text)
"""
import argparse
import json
import os

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter, LlamaFileType, TokenType
from gguf.quants import dequantize


def from_gguf(src, dst):
    reader = GGUFReader(src)
    arch = reader.fields["general.architecture"].contents()
    writer = GGUFWriter(dst, arch)
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name in ("general.architecture", "general.file_type"):
            continue
        vtype = field.types[0]
        sub = field.types[1] if vtype == GGUFValueType.ARRAY else None
        writer.add_key_value(name, field.contents(), vtype, sub)
    writer.add_file_type(LlamaFileType.ALL_F32)
    for t in reader.tensors:
        writer.add_tensor(t.name, np.ascontiguousarray(dequantize(t.data, t.tensor_type), dtype=np.float32))
    finish(writer)


def from_hf_qwen2(src, dst):
    from safetensors.torch import load_file

    cfg = json.load(open(os.path.join(src, "config.json")))
    weights = load_file(os.path.join(src, "model.safetensors"))
    writer = GGUFWriter(dst, "qwen2")
    writer.add_name("qwen2-random")
    writer.add_context_length(cfg["max_position_embeddings"])
    writer.add_embedding_length(cfg["hidden_size"])
    writer.add_block_count(cfg["num_hidden_layers"])
    writer.add_feed_forward_length(cfg["intermediate_size"])
    writer.add_head_count(cfg["num_attention_heads"])
    writer.add_head_count_kv(cfg["num_key_value_heads"])
    writer.add_rope_freq_base(cfg.get("rope_theta", 1e6))
    writer.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    writer.add_file_type(LlamaFileType.ALL_F32)
    # Placeholder SentencePiece-style vocabulary: unk/bos/eos, the 256 byte tokens, then t<i>.
    vocab = cfg["vocab_size"]
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tokens += [f"t{i}" for i in range(len(tokens), vocab)]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
    types += [TokenType.NORMAL] * (vocab - len(types))
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * vocab)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    names = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
             "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down"}
    for hf, w in weights.items():
        if hf == "model.embed_tokens.weight":
            name = "token_embd.weight"
        elif hf == "model.norm.weight":
            name = "output_norm.weight"
        elif hf == "lm_head.weight":
            name = "output.weight"
        else:
            parts = hf.split(".")  # model.layers.<i>.<module...>.<weight|bias>
            name = f"blk.{parts[2]}.{names['.'.join(parts[3:-1])]}.{parts[-1]}"
        writer.add_tensor(name, w.float().numpy())
    finish(writer)


def finish(writer):
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main():
    ap = argparse.ArgumentParser()
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--gguf")
    src.add_argument("--hf")
    ap.add_argument("out")
    a = ap.parse_args()
    from_gguf(a.gguf, a.out) if a.gguf else from_hf_qwen2(a.hf, a.out)
    print(f"to_gguf_f32: wrote {a.out}")


if __name__ == "__main__":
    main()
