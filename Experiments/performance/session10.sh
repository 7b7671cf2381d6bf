#!/usr/bin/env bash
# Session 10: this binary's default bench (q8 activations, f16 KV cache on the Q4_1 GGUF),
# the same with an f32 cache (SPRIG_KV=f32), a base binary (BASE=…, session 9's) and
# llama.cpp, interleaved rounds; then decode forked from a CONTEXT-token prefix (default
# 1024), f16 vs f32 cache. One JSON line per run with the 1-minute load average.
# Usage: session10.sh [ROUNDS] [CONTEXT]   (SPRIG, GGUF as in bench_env.sh; output on stdout)
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
context=${2:-1024}
for ((r = 1; r <= ${1:-3}; r++)); do
    for mode in sprig sprig-kv32 base llama.cpp ctx-f16 ctx-f32; do
        l=$(load)
        case $mode in
            sprig) out=$("$SPRIG" bench --model "$GGUF" --json) ;;
            sprig-kv32) out=$(SPRIG_KV=f32 "$SPRIG" bench --model "$GGUF" --json) ;;
            base) [ -n "${BASE:-}" ] || continue
                  out=$("$BASE" bench --model "$GGUF" --json --activations q8) ;;
            llama.cpp) out=$(python3 Experiments/peers/bench_llamacpp.py --model "$GGUF" --threads 2 \
                             --sequences 1,4,16 --steps 32 2>/dev/null | tail -1) ;;
            ctx-f16) out=$("$SPRIG" bench --model "$GGUF" --json --context "$context") ;;
            ctx-f32) out=$(SPRIG_KV=f32 "$SPRIG" bench --model "$GGUF" --json --context "$context") ;;
        esac
        echo "{\"round\": $r, \"mode\": \"$mode\", \"load\": $l, \"result\": $(echo "$out" | tr -d '\n')}"
    done
done
