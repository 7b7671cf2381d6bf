#!/usr/bin/env python3
"""llama.cpp (via llama-cpp-python's low-level C API) on the same workload as
`sprig bench decode`: prefill a prompt once in sequence 0, copy the sequence to N-1
siblings in the KV cache, one warm-up step, then `steps` timed steps that decode one
token per sequence. Tokens are synthetic (same formula as Sprig's DecodeBenchmark);
logits are computed for every decoded token but not sampled, as in Sprig.

Prints one JSON object: {"prefill_tokens_per_s": ..., "decode": [{"sequences": N, "tokens_per_s": ...}]}.
"""
import argparse
import ctypes
import json
import sys
import time

import llama_cpp as L


def synthetic(count, vocab):
    return [(i * 7919 + 13) % vocab for i in range(count)]


class Runner:
    def __init__(self, path, threads, max_seqs, n_ctx, extra_bufts=False):
        L.llama_backend_init()
        # Silence llama.cpp's load log; keep a reference so the callback is not collected.
        self._log = L.llama_log_callback(lambda level, text, data: None)
        L.llama_log_set(self._log, None)
        mp = L.llama_model_default_params()
        # The prebuilt ggml picks its AMX buffer type on this CPU, whose tile instructions
        # fault (SIGILL) in this VM; plain CPU buffers avoid it. --extra-bufts turns it back on.
        mp.use_extra_bufts = extra_bufts
        self.model = L.llama_model_load_from_file(path.encode(), mp)
        if not self.model:
            sys.exit(f"bench_llamacpp: cannot load {path}")
        cp = L.llama_context_default_params()
        cp.n_ctx = n_ctx
        cp.n_batch = n_ctx
        cp.n_ubatch = 512
        cp.n_seq_max = max_seqs
        cp.n_threads = threads
        cp.n_threads_batch = threads
        # One KV buffer shared by all sequences: a copied prefix is shared, not duplicated,
        # like a forked paged-KV sequence in Sprig.
        cp.kv_unified = True
        self.ctx = L.llama_init_from_model(self.model, cp)
        if not self.ctx:
            sys.exit("bench_llamacpp: cannot create context")
        self.mem = L.llama_get_memory(self.ctx)
        self.vocab = L.llama_vocab_n_tokens(L.llama_model_get_vocab(self.model))
        self.batch = L.llama_batch_init(n_ctx, 0, max_seqs)

    def fill(self, items):
        """items: list of (token, pos, seq, want_logits)."""
        b = self.batch
        for i, (tok, pos, seq, want) in enumerate(items):
            b.token[i] = tok
            b.pos[i] = pos
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = seq
            b.logits[i] = 1 if want else 0
        b.n_tokens = len(items)

    def decode(self, items):
        self.fill(items)
        rc = L.llama_decode(self.ctx, self.batch)
        if rc != 0:
            sys.exit(f"bench_llamacpp: llama_decode returned {rc}")

    def prefill(self, n):
        L.llama_memory_clear(self.mem, True)
        toks = synthetic(n, self.vocab)
        t0 = time.perf_counter()
        self.decode([(t, p, 0, p == n - 1) for p, t in enumerate(toks)])
        return n / (time.perf_counter() - t0)

    def decode_siblings(self, n, prompt, steps):
        L.llama_memory_clear(self.mem, True)
        self.decode([(t, p, 0, p == prompt - 1) for p, t in enumerate(synthetic(prompt, self.vocab))])
        for s in range(1, n):
            L.llama_memory_seq_cp(self.mem, 0, s, -1, -1)
        nxt = synthetic(n + 7, self.vocab)[-n:]
        pos = prompt
        self.decode([(nxt[i], pos, i, True) for i in range(n)])  # warm-up step
        pos += 1
        t0 = time.perf_counter()
        for step in range(steps):
            nxt = [(nxt[i] * 31 + step + i) % self.vocab for i in range(n)]
            self.decode([(nxt[i], pos, i, True) for i in range(n)])
            pos += 1
        dt = time.perf_counter() - t0
        return n * steps / dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sequences", default="1,4,16")
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--prompt", type=int, default=32, help="shared prefix length before forking")
    ap.add_argument("--prefill", type=int, default=128, help="prompt length for the prefill figure")
    ap.add_argument("--extra-bufts", action="store_true", help="allow ggml's AMX/repacked weight buffers")
    a = ap.parse_args()
    ns = [int(x) for x in a.sequences.split(",")]
    r = Runner(a.model, a.threads, max(ns), 2048, a.extra_bufts)
    out = {"engine": "llama.cpp", "version": L.__version__, "threads": a.threads,
           "prefill_tokens_per_s": r.prefill(a.prefill), "decode": []}
    for n in ns:
        out["decode"].append({"sequences": n, "tokens_per_s": r.decode_siblings(n, a.prompt, a.steps)})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
