#!/usr/bin/env python3
"""A tiny random Llama with Llama 3 rope scaling, stored as GGUF the way llama.cpp's
converter stores it: Q/K rows permuted to llama.cpp's rotary layout and the scaling as
per-pair frequency divisors in `rope_freqs.weight` (the metadata names no scaling type).

Writes Tests/TransformerTests/Fixtures/llama3-rope-gguf/{model.gguf, reference.json};
the reference is transformers' f32 forward of the Hugging Face model (make_fixtures.make).

Usage (from the repository root):  python3 Experiments/reference/model/make_gguf_fixture.py
"""
import math
import os

import gguf
import numpy as np
import torch
from safetensors.numpy import load_file
from transformers import LlamaConfig, LlamaForCausalLM

import make_fixtures as mf

NAME = "llama3-rope-gguf"
SCALING = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
           "original_max_position_embeddings": 16}
SPEC = (LlamaConfig, LlamaForCausalLM, dict(
    hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, head_dim=16, rope_theta=10000.0, rope_scaling=SCALING,
    rms_norm_eps=1e-5, tie_word_embeddings=False, attention_bias=False, mlp_bias=False),
    torch.float32, "as-saved", 1, 1018)


def rotary_permute(w, heads):
    """HF's half-split rotary rows [heads · dim, in] to llama.cpp's interleaved pairs."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def rope_divisors(head_dim, theta, s):
    """Per-pair divisors of the base frequencies (what llama.cpp divides θ_i by)."""
    low_wavelen = s["original_max_position_embeddings"] / s["low_freq_factor"]
    high_wavelen = s["original_max_position_embeddings"] / s["high_freq_factor"]
    out = []
    for i in range(head_dim // 2):
        wavelen = 2 * math.pi * theta ** (2 * i / head_dim)
        if wavelen < high_wavelen:
            out.append(1.0)
        elif wavelen > low_wavelen:
            out.append(s["factor"])
        else:
            smooth = (s["original_max_position_embeddings"] / wavelen - s["low_freq_factor"]) / \
                     (s["high_freq_factor"] - s["low_freq_factor"])
            out.append(1 / ((1 - smooth) / s["factor"] + smooth))
    return np.array(out, dtype=np.float32)


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    mf.make(NAME, SPEC)
    folder = os.path.join(mf.FIXTURES, NAME)
    cfg = SPEC[2]
    heads, kv, dim = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    sd = load_file(os.path.join(folder, "model.safetensors"))
    w = gguf.GGUFWriter(os.path.join(folder, "model.gguf"), "llama")
    w.add_context_length(mf.COMMON["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_key_length(dim)
    w.add_value_length(dim)
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_vocab_size(mf.COMMON["vocab_size"])
    w.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"])
    w.add_tensor("output_norm.weight", sd["model.norm.weight"])
    w.add_tensor("output.weight", sd["lm_head.weight"])
    w.add_tensor("rope_freqs.weight", rope_divisors(dim, cfg["rope_theta"], SCALING))
    names = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
             "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down"}
    for i in range(cfg["num_hidden_layers"]):
        for hf, gg in names.items():
            t = sd[f"model.layers.{i}.{hf}.weight"]
            if hf == "self_attn.q_proj":
                t = rotary_permute(t, heads)
            elif hf == "self_attn.k_proj":
                t = rotary_permute(t, kv)
            w.add_tensor(f"blk.{i}.{gg}.weight", np.ascontiguousarray(t))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    for f in ("config.json", "model.safetensors"):
        os.remove(os.path.join(folder, f))
    print(NAME, sorted(os.listdir(folder)))


if __name__ == "__main__":
    main()
