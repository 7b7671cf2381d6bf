#!/usr/bin/env python3
"""The qwen3-qknorm fixture (make_fixtures.py) stored as GGUF the way llama.cpp's converter
stores a Qwen3: architecture "qwen3", per-head query/key norms as blk.N.attn_q_norm /
attn_k_norm, Q/K rows as in Hugging Face (Qwen's rotary halves need no permutation), no
output.weight (tied). The reference is the Hugging Face fixture's, copied.

Writes Tests/TransformerTests/Fixtures/qwen3-qknorm-gguf/{model.gguf, reference.json}.
Usage (from the repository root, after make_fixtures.py qwen3-qknorm):
    python3 Experiments/reference/model/make_qwen3_gguf_fixture.py
"""
import json
import os
import shutil

import gguf
import numpy as np
from safetensors.numpy import load_file

import make_fixtures as mf

SOURCE, NAME = "qwen3-qknorm", "qwen3-qknorm-gguf"


def main():
    src = os.path.join(mf.FIXTURES, SOURCE)
    folder = os.path.join(mf.FIXTURES, NAME)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    with open(os.path.join(src, "config.json")) as f:
        cfg = json.load(f)
    assert cfg["tie_word_embeddings"], "the GGUF form here is written tied"
    sd = load_file(os.path.join(src, "model.safetensors"))
    w = gguf.GGUFWriter(os.path.join(folder, "model.gguf"), "qwen3")
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_key_length(cfg["head_dim"])
    w.add_value_length(cfg["head_dim"])
    w.add_rope_freq_base(cfg["rope_parameters"]["rope_theta"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_vocab_size(cfg["vocab_size"])
    w.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"])
    w.add_tensor("output_norm.weight", sd["model.norm.weight"])
    names = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
             "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm",
             "self_attn.k_norm": "attn_k_norm", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down"}
    for i in range(cfg["num_hidden_layers"]):
        for hf, gg in names.items():
            w.add_tensor(f"blk.{i}.{gg}.weight", np.ascontiguousarray(sd[f"model.layers.{i}.{hf}.weight"]))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    shutil.copy(os.path.join(src, "reference.json"), os.path.join(folder, "reference.json"))
    print(NAME, sorted(os.listdir(folder)))


if __name__ == "__main__":
    main()
