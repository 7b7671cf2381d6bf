#!/usr/bin/env python3
"""Writes a randomly initialised Qwen2 with the Qwen2-0.5B shape (hidden 896, 24 layers,
14 query heads, 2 KV heads, intermediate 4864, vocab 151936, tied embeddings) as a
Hugging Face folder of bf16 safetensors (~1 GB). Speed does not depend on the values,
so random weights measure the 0.5B decode cost without downloading anything.

Usage: make_qwen2.py OUT_DIR   (skips the work if OUT_DIR/config.json exists)
"""
import os
import sys

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/peers/qwen2-0.5b-random"
    if os.path.exists(os.path.join(out, "config.json")):
        print(f"make_qwen2: {out} exists")
        return
    config = Qwen2Config(hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                         intermediate_size=4864, vocab_size=151936, max_position_embeddings=32768,
                         rope_theta=1_000_000.0, rms_norm_eps=1e-6, tie_word_embeddings=True,
                         torch_dtype="bfloat16")
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    model = Qwen2ForCausalLM(config).eval()
    model.save_pretrained(out, safe_serialization=True)
    n = sum(p.numel() for p in model.parameters())
    print(f"make_qwen2: wrote {out} ({n / 1e6:.0f}M parameters, bf16)")


if __name__ == "__main__":
    main()
