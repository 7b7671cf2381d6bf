#!/usr/bin/env python3
"""Fixtures of make_fixtures.py stored again as GGUF, the way llama.cpp's converters store
architectures with NEOX (half-split) rotary, whose Q/K rows need no permutation:

- qwen3-qknorm-gguf: architecture "qwen3", per-head query/key norms as blk.N.attn_q_norm /
  attn_k_norm, no output.weight (tied).
- phi3-fused-gguf: architecture "phi3", the fused q/k/v as blk.N.attn_qkv, the fused
  [gate | up] as blk.N.ffn_up, the window as phi3.attention.sliding_window.

Each folder gets model.gguf and the Hugging Face fixture's reference.json (copied).
Usage (from the repository root, after make_fixtures.py qwen3-qknorm phi3-fused):
    python3 Experiments/reference/model/make_neox_gguf_fixtures.py
"""
import json
import os
import shutil

import gguf
import numpy as np
from safetensors.numpy import load_file

import make_fixtures as mf

COMMON_NAMES = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
                "self_attn.o_proj": "attn_output", "mlp.down_proj": "ffn_down"}

# name -> (source fixture, GGUF architecture, layer tensor names beyond COMMON_NAMES)
SPECS = {
    "qwen3-qknorm-gguf": ("qwen3-qknorm", "qwen3", {
        "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
        "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
        "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up"}),
    "phi3-fused-gguf": ("phi3-fused", "phi3", {
        "self_attn.qkv_proj": "attn_qkv", "mlp.gate_up_proj": "ffn_up"}),
}


def make(name, source, arch, layer_names):
    src = os.path.join(mf.FIXTURES, source)
    folder = os.path.join(mf.FIXTURES, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    with open(os.path.join(src, "config.json")) as f:
        cfg = json.load(f)
    sd = load_file(os.path.join(src, "model.safetensors"))
    heads = cfg["num_attention_heads"]
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // heads
    theta = cfg["rope_theta"] if "rope_theta" in cfg else cfg["rope_parameters"]["rope_theta"]
    w = gguf.GGUFWriter(os.path.join(folder, "model.gguf"), arch)
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_head_count(heads)
    w.add_head_count_kv(cfg["num_key_value_heads"])
    if arch == "qwen3":
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    else:
        w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(theta)
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    if cfg.get("sliding_window"):
        w.add_sliding_window(cfg["sliding_window"])
    w.add_vocab_size(cfg["vocab_size"])
    w.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"])
    w.add_tensor("output_norm.weight", sd["model.norm.weight"])
    if not cfg["tie_word_embeddings"]:
        w.add_tensor("output.weight", sd["lm_head.weight"])
    names = {**COMMON_NAMES, **layer_names}
    for i in range(cfg["num_hidden_layers"]):
        for hf, gg in names.items():
            w.add_tensor(f"blk.{i}.{gg}.weight", np.ascontiguousarray(sd[f"model.layers.{i}.{hf}.weight"]))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    shutil.copy(os.path.join(src, "reference.json"), os.path.join(folder, "reference.json"))
    print(name, sorted(os.listdir(folder)))


def main():
    for name, (source, arch, layer_names) in SPECS.items():
        make(name, source, arch, layer_names)


if __name__ == "__main__":
    main()
