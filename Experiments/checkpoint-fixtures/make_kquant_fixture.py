"""Reference values for the GGUF block formats Sprig expands to f32 at load (Q5_0, Q5_1,
Q2_K, Q3_K, Q4_K, Q5_K, Q6_K): random blocks whose f16 scale fields hold ordinary numbers,
decoded by gguf-py (`gguf.quants.dequantize`, a port of ggml's dequantize_row_*), plus the
q6_K tensor of tiny.gguf decoded the same way.

Usage: python3 make_kquant_fixture.py [out_dir]   (default: Tests/CheckpointTests/Fixtures)
Needs: numpy gguf.  Writes kquants.json: {type: {"hex": block bytes, "values": floats}}.
"""
import json, os, sys
import numpy as np
from gguf import GGUFReader, GGMLQuantizationType as Q
from gguf.quants import dequantize

OUT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "Tests", "CheckpointTests", "Fixtures"))
rng = np.random.default_rng(2026)

# type: (bytes per block, byte offsets of its f16 scale fields)
LAYOUTS = {
    "q5_0": (Q.Q5_0, 22, [0]),
    "q5_1": (Q.Q5_1, 24, [0, 2]),
    "q2_K": (Q.Q2_K, 84, [80, 82]),
    "q3_K": (Q.Q3_K, 110, [108]),
    "q4_K": (Q.Q4_K, 144, [0, 2]),
    "q5_K": (Q.Q5_K, 176, [0, 2]),
    "q6_K": (Q.Q6_K, 210, [208]),
}
ref = {}
for name, (qt, size, halves) in LAYOUTS.items():
    blocks = rng.integers(0, 256, (2, size), dtype=np.uint8)
    for b in range(2):
        for off in halves:
            blocks[b, off:off + 2] = np.frombuffer(np.float16(rng.uniform(-0.1, 0.1)).tobytes(), dtype=np.uint8)
    values = dequantize(blocks.reshape(-1), qt).astype(np.float32).ravel()
    ref[name] = {"hex": blocks.tobytes().hex(), "values": [float(v) for v in values]}

t = next(t for t in GGUFReader(os.path.join(OUT, "tiny.gguf")).tensors if t.name == "q6k")
values = dequantize(np.asarray(t.data, dtype=np.uint8).reshape(-1), Q.Q6_K).astype(np.float32).ravel()
ref["tiny.gguf q6k"] = {"values": [float(v) if np.isfinite(v) else None for v in values]}
with open(os.path.join(OUT, "kquants.json"), "w") as f:
    json.dump(ref, f)
print("wrote", os.path.join(OUT, "kquants.json"), {k: len(v["values"]) for k, v in ref.items()})
