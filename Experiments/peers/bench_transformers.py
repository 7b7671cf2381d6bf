#!/usr/bin/env python3
"""Hugging Face transformers on CPU PyTorch (f32) on the same workload as
`sprig bench decode`: a `prompt`-token prefix, N sibling sequences decoded together
(a batch of N copies of the prefix sharing nothing: transformers has no forked cache),
one warm-up step, then `steps` timed steps of one token per sequence with the KV cache.
Tokens are synthetic (same formula as Sprig's DecodeBenchmark); logits are computed
for the new token of every sequence but not sampled.

The model is a GGUF file (dequantized to f32 by transformers) or a Hugging Face folder.
Prints one JSON object like bench_llamacpp.py.
"""
import argparse
import json
import os
import time

import torch
from transformers import AutoModelForCausalLM


def synthetic(count, vocab):
    return [(i * 7919 + 13) % vocab for i in range(count)]


def load(path):
    if os.path.isdir(path):
        return AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32)
    return AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path),
                                                torch_dtype=torch.float32)


def forward_cached(model, ids, cache):
    """One forward with the KV cache; transformers 5 renamed past_key_values to cache."""
    out = model(input_ids=ids, cache=cache, use_cache=True, logits_to_keep=1)
    return out, getattr(out, "cache", None) or out.past_key_values


@torch.inference_mode()
def prefill(model, n, vocab):
    ids = torch.tensor([synthetic(n, vocab)])
    t0 = time.perf_counter()
    model(input_ids=ids, use_cache=True, logits_to_keep=1)
    return n / (time.perf_counter() - t0)


@torch.inference_mode()
def decode_siblings(model, n, prompt, steps, vocab):
    ids = torch.tensor([synthetic(prompt, vocab)] * n)
    _, cache = forward_cached(model, ids, None)
    nxt = synthetic(n + 7, vocab)[-n:]
    _, cache = forward_cached(model, torch.tensor(nxt).view(n, 1), cache)  # warm-up step
    t0 = time.perf_counter()
    for step in range(steps):
        nxt = [(nxt[i] * 31 + step + i) % vocab for i in range(n)]
        _, cache = forward_cached(model, torch.tensor(nxt).view(n, 1), cache)
    return n * steps / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sequences", default="1,4,16")
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--prompt", type=int, default=32)
    ap.add_argument("--prefill", type=int, default=128)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = load(a.model).eval()
    vocab = model.config.vocab_size
    out = {"engine": "transformers", "version": __import__("transformers").__version__,
           "torch": torch.__version__, "threads": a.threads, "prefill_tokens_per_s": prefill(model, a.prefill, vocab),
           "decode": []}
    for n in (int(x) for x in a.sequences.split(",")):
        out["decode"].append({"sequences": n, "tokens_per_s": decode_siblings(model, n, a.prompt, a.steps, vocab)})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
