#!/usr/bin/env python3
"""Tiny random Hugging Face checkpoints + float32 reference outputs.

Writes Tests/TransformerTests/Fixtures/<name>/ with config.json, safetensors
weights and reference.json (tokens, logits, hidden_penultimate, greedy), all
computed by transformers (the oracle) from the weights as *stored* on disk.

Usage (from the repository root):  python3 Experiments/reference/model/make_fixtures.py
"""
import json
import os
import shutil
import sys

import torch
import transformers
from transformers import (AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, MistralConfig,
                          MistralForCausalLM, Phi3Config, Phi3ForCausalLM, Qwen2Config,
                          Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
FIXTURES = os.path.join(ROOT, "Tests", "TransformerTests", "Fixtures")
PROMPT_LEN = 12
GREEDY_LEN = 8
EMBED_STD = float(os.environ.get("EMBED_STD", 0.03))
WEIGHT_STD = float(os.environ.get("WEIGHT_STD", 0.1))

COMMON = dict(vocab_size=320, max_position_embeddings=128, bos_token_id=1,
              eos_token_id=2, pad_token_id=None, attention_dropout=0.0)

# name -> (config class, model class, config kwargs, store dtype, config style, shards, seed)
SPECS = {
    # Qwen2: q/k/v bias, GQA 4:2, untied lm_head, f32, 4.x-style keys.
    "qwen2-f32": (Qwen2Config, Qwen2ForCausalLM, dict(
        hidden_size=64, intermediate_size=160, num_hidden_layers=3,
        num_attention_heads=4, num_key_value_heads=2, rope_theta=10000.0,
        rms_norm_eps=1e-6, tie_word_embeddings=False, use_sliding_window=False),
        torch.float32, "v4", 1, 1001),
    # Qwen2: tied embeddings, stored bf16, 5.x-style keys.
    "qwen2-bf16-tied": (Qwen2Config, Qwen2ForCausalLM, dict(
        hidden_size=64, intermediate_size=160, num_hidden_layers=3,
        num_attention_heads=4, num_key_value_heads=2, rope_theta=10000.0,
        rms_norm_eps=1e-6, tie_word_embeddings=True, use_sliding_window=False),
        torch.bfloat16, "v5", 1, 1002),
    # Llama: GQA 6:2, head_dim 16 != hidden/heads (48/6 = 8), tied, theta 1e5, 5.x keys.
    "llama-f32-tied": (LlamaConfig, LlamaForCausalLM, dict(
        hidden_size=48, intermediate_size=128, num_hidden_layers=3,
        num_attention_heads=6, num_key_value_heads=2, head_dim=16,
        rope_theta=100000.0, rms_norm_eps=1e-5, tie_word_embeddings=True,
        attention_bias=False, mlp_bias=False),
        torch.float32, "v5", 1, 1003),
    # Llama: untied, f16, two safetensors shards + index, GQA 8:2, 4.x keys.
    "llama-f16-sharded": (LlamaConfig, LlamaForCausalLM, dict(
        hidden_size=64, intermediate_size=160, num_hidden_layers=3,
        num_attention_heads=8, num_key_value_heads=2, rope_theta=500000.0,
        rms_norm_eps=1e-5, tie_word_embeddings=False,
        attention_bias=False, mlp_bias=False),
        torch.float16, "v4", 2, 1004),
    # Llama with attention_bias (q/k/v *and* o_proj biases) and mlp_bias (gate/up/down).
    "llama-bias": (LlamaConfig, LlamaForCausalLM, dict(
        hidden_size=64, intermediate_size=160, num_hidden_layers=3,
        num_attention_heads=4, num_key_value_heads=2, rope_theta=10000.0,
        rms_norm_eps=1e-5, tie_word_embeddings=False,
        attention_bias=True, mlp_bias=True),
        torch.float32, "v5", 1, 1005),
    # Llama, one layer, multi-query attention (one KV head for 4 heads): config values of 1.
    "llama-mqa-1layer": (LlamaConfig, LlamaForCausalLM, dict(
        hidden_size=64, intermediate_size=160, num_hidden_layers=1,
        num_attention_heads=4, num_key_value_heads=1, rope_theta=10000.0,
        rms_norm_eps=1e-5, tie_word_embeddings=False,
        attention_bias=False, mlp_bias=False),
        torch.float32, "v4", 1, 1006),
    # Qwen2 with a single attention head (and KV head), tied.
    "qwen2-1head": (Qwen2Config, Qwen2ForCausalLM, dict(
        hidden_size=32, intermediate_size=96, num_hidden_layers=2,
        num_attention_heads=1, num_key_value_heads=1, rope_theta=10000.0,
        rms_norm_eps=1e-6, tie_word_embeddings=True, use_sliding_window=False),
        torch.float32, "v5", 1, 1017),
    # Mistral (model_type "mistral": Llama's math) with a 32-token sliding window: the
    # reference's 20 positions are inside it; Sprig caps the context at the window.
    "mistral-window": (MistralConfig, MistralForCausalLM, dict(
        hidden_size=64, intermediate_size=160, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, rope_theta=10000.0,
        rms_norm_eps=1e-5, tie_word_embeddings=False, sliding_window=32),
        torch.float32, "v4", 1, 1019),
    # Qwen3: RMSNorm on each query and key head before RoPE, no q/k/v bias, head_dim 32 with
    # 4 heads on a 64-wide model (q is wider than the hidden state, as in Qwen3-0.6B).
    "qwen3-qknorm": (Qwen3Config, Qwen3ForCausalLM, dict(
        hidden_size=64, intermediate_size=160, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=32, rope_theta=1000000.0,
        rms_norm_eps=1e-6, tie_word_embeddings=True, use_sliding_window=False),
        torch.float32, "v5", 1, 1020),
    # Phi-3: q/k/v and gate/up stored fused (qkv_proj, gate_up_proj), a 48-token sliding window.
    "phi3-fused": (Phi3Config, Phi3ForCausalLM, dict(
        hidden_size=64, intermediate_size=160, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, rope_theta=10000.0,
        rms_norm_eps=1e-5, tie_word_embeddings=False, sliding_window=48),
        torch.float32, "v4", 1, 1021),
}

DTYPE_NAMES = {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}


def randomize(model, seed):
    """Embeddings ~ N(0, EMBED_STD²), other matrices ~ N(0, WEIGHT_STD²), norm
    weights 1 + N(0, 0.2²), biases N(0, 0.1²). Small embeddings keep tied models
    from just repeating the last token under greedy decoding."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or "layernorm" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name:
                p.copy_(EMBED_STD * torch.randn(p.shape, generator=g))
            else:
                p.copy_(WEIGHT_STD * torch.randn(p.shape, generator=g))


def restyle(folder, style, theta, dtype_name):
    """Rewrite config.json with 4.x keys (rope_theta, torch_dtype) or 5.x keys
    (rope_parameters {rope_theta, rope_type}, dtype)."""
    if style == "as-saved":   # keep what save_pretrained wrote (e.g. a rope scaling)
        return
    path = os.path.join(folder, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    for k in ("rope_theta", "rope_parameters", "rope_scaling", "torch_dtype", "dtype"):
        cfg.pop(k, None)
    if style == "v4":
        cfg["rope_theta"] = theta
        cfg["rope_scaling"] = None
        cfg["torch_dtype"] = dtype_name
        cfg.pop("layer_types", None)
    else:
        cfg["rope_parameters"] = {"rope_theta": theta, "rope_type": "default"}
        cfg["dtype"] = dtype_name
    cfg = dict(sorted(cfg.items()))
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


def rope_theta_of(config):
    rp = getattr(config, "rope_parameters", None)
    if isinstance(rp, dict) and "rope_theta" in rp:
        return rp["rope_theta"]
    return getattr(config, "rope_theta")


def r7(t):
    """Nested lists of floats rounded to 7 significant digits."""
    if t.dim() == 1:
        return [float(f"{x:.7g}") for x in t.tolist()]
    return [r7(row) for row in t]


def make(name, spec):
    cfg_cls, model_cls, kwargs, dtype, style, shards, seed = spec
    folder = os.path.join(FIXTURES, name)
    shutil.rmtree(folder, ignore_errors=True)
    torch.manual_seed(seed)
    config = cfg_cls(**COMMON, **kwargs)
    model = model_cls(config).eval()
    randomize(model, seed)
    model = model.to(dtype)
    n_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    save_kwargs = dict(safe_serialization=True)
    if shards > 1:
        # Bytes per shard slightly above half the model so it splits into two.
        save_kwargs["max_shard_size"] = n_bytes // shards + 4096
    model.save_pretrained(folder, **save_kwargs)
    for extra in ("generation_config.json",):
        p = os.path.join(folder, extra)
        if os.path.exists(p):
            os.remove(p)
    restyle(folder, style, kwargs["rope_theta"], DTYPE_NAMES[dtype])
    files = sorted(os.listdir(folder))
    st = [f for f in files if f.endswith(".safetensors")]
    assert len(st) == shards, (name, files)
    if shards > 1:
        assert "model.safetensors.index.json" in files, files

    # Reference: reload from disk (proves the restyled config loads), upcast the
    # stored weights to f32, compute in f32 with the eager attention path.
    ref = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager").float().eval()
    assert abs(rope_theta_of(ref.config) - kwargs["rope_theta"]) < 1e-6, (name, ref.config)
    assert ref.config.tie_word_embeddings == kwargs["tie_word_embeddings"]
    with torch.no_grad():
        for (n1, p1), (n2, p2) in zip(model.state_dict().items(), ref.state_dict().items()):
            assert n1 == n2 and torch.equal(p1.float(), p2), (name, n1)
        g = torch.Generator().manual_seed(seed + 7)
        tokens = torch.randint(3, config.vocab_size, (1, PROMPT_LEN), generator=g)
        captured = {}
        def grab(mod, args, kw):
            captured["h"] = (args[0] if args else kw["hidden_states"]).clone()
        hook = ref.model.layers[-1].register_forward_pre_hook(grab, with_kwargs=True)
        out = ref(tokens, output_hidden_states=True)
        hook.remove()
        logits = out.logits[0]                       # [PROMPT_LEN, vocab]
        penult = out.hidden_states[-2][0]            # [PROMPT_LEN, hidden]
        assert torch.allclose(penult, captured["h"][0], atol=0, rtol=0), "hidden_states[-2] != last layer input"
        ref.generation_config.eos_token_id = None   # always 8 tokens
        ref.generation_config.pad_token_id = 0
        gen = ref.generate(tokens, max_new_tokens=GREEDY_LEN, do_sample=False,
                           attention_mask=torch.ones_like(tokens))
        greedy = gen[0, PROMPT_LEN:].tolist()
        # Cross-check generate's cached path against full recompute argmax.
        seq = tokens
        for _ in range(GREEDY_LEN):
            nxt = ref(seq).logits[0, -1].argmax().view(1, 1)
            seq = torch.cat([seq, nxt], dim=1)
        assert seq[0, PROMPT_LEN:].tolist() == greedy, (name, greedy, seq)
        # Smallest top-1 minus top-2 gap over the greedy steps: parity tests need it
        # well above f32 noise so the argmax is not a coin flip.
        steps = ref(seq[:, :-1]).logits[0, PROMPT_LEN - 1:]
        top2 = steps.topk(2, dim=-1).values
        margin = float((top2[:, 0] - top2[:, 1]).min())
    std = float(logits.std())
    assert std > 0.1, f"{name}: logits too flat (std {std})"
    assert margin > 5e-3, f"{name}: greedy argmax too close to call ({margin})"
    reference = {
        "model": name,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "note": "f32 forward of the stored weights (upcast); eager attention; no BOS added",
        "tokens": tokens[0].tolist(),
        "logits": r7(logits),
        "hidden_penultimate": r7(penult),
        "greedy": greedy,
        "greedy_min_margin": round(margin, 6),
    }
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump(reference, f, separators=(",", ":"))
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    print(f"{name}: {size / 1024:.0f} KiB ({', '.join(sorted(os.listdir(folder)))}); "
          f"logits std {std:.3f}; greedy {greedy}; min greedy margin {margin:.4f}")


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    names = sys.argv[1:] or list(SPECS)
    for name in names:
        make(name, SPECS[name])


if __name__ == "__main__":
    main()
