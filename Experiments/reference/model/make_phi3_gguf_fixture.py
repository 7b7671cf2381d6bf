#!/usr/bin/env python3
"""The phi3-fused fixture (make_fixtures.py) stored as GGUF the way llama.cpp's converter
stores a Phi-3: architecture "phi3", the fused q/k/v as blk.N.attn_qkv, the fused
[gate | up] as blk.N.ffn_up, Q/K rows as in Hugging Face (NEOX rotary: no permutation),
the window as phi3.attention.sliding_window. The reference is the Hugging Face fixture's.

Writes Tests/TransformerTests/Fixtures/phi3-fused-gguf/{model.gguf, reference.json}.
Usage (from the repository root, after make_fixtures.py phi3-fused):
    python3 Experiments/reference/model/make_phi3_gguf_fixture.py
"""
import json
import os
import shutil

import gguf
import numpy as np
from safetensors.numpy import load_file

import make_fixtures as mf

SOURCE, NAME = "phi3-fused", "phi3-fused-gguf"


def main():
    src = os.path.join(mf.FIXTURES, SOURCE)
    folder = os.path.join(mf.FIXTURES, NAME)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    with open(os.path.join(src, "config.json")) as f:
        cfg = json.load(f)
    sd = load_file(os.path.join(src, "model.safetensors"))
    heads = cfg["num_attention_heads"]
    w = gguf.GGUFWriter(os.path.join(folder, "model.gguf"), "phi3")
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_head_count(heads)
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_rope_dimension_count(cfg["hidden_size"] // heads)
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_sliding_window(cfg["sliding_window"])
    w.add_vocab_size(cfg["vocab_size"])
    w.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"])
    w.add_tensor("output_norm.weight", sd["model.norm.weight"])
    w.add_tensor("output.weight", sd["lm_head.weight"])
    names = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
             "self_attn.qkv_proj": "attn_qkv", "self_attn.o_proj": "attn_output",
             "mlp.gate_up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
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
