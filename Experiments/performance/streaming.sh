#!/usr/bin/env bash
# Session 9: this binary's default bench (q8 on the Q4_1 GGUF), the same with f32
# activations, a base binary (BASE=…, e.g. one built from d71e1ad) in q8, and llama.cpp
# (llama-cpp-python, 2 threads, siblings forked with llama_memory_seq_cp), interleaved
# rounds, one JSON line per run with the 1-minute load average.
# Usage: streaming.sh [ROUNDS] [STEPS]   (SPRIG, GGUF as in bench_env.sh; output on stdout)
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
steps=${2:-32}
for ((r = 1; r <= ${1:-3}; r++)); do
    for mode in sprig sprig-f32 base llama.cpp; do
        l=$(load)
        case $mode in
            sprig) out=$("$SPRIG" bench --model "$GGUF" --json --steps "$steps") ;;
            sprig-f32) out=$("$SPRIG" bench --model "$GGUF" --json --steps "$steps" --activations f32) ;;
            base) [ -n "${BASE:-}" ] || continue
                  out=$("$BASE" bench --model "$GGUF" --json --steps "$steps" --activations q8) ;;
            llama.cpp) out=$(python3 Experiments/peers/bench_llamacpp.py --model "$GGUF" --threads 2 \
                             --sequences 1,4,16 --steps "$steps" 2>/dev/null | tail -1) ;;
        esac
        echo "{\"round\": $r, \"mode\": \"$mode\", \"load\": $l, \"result\": $(echo "$out" | tr -d '\n')}"
    done
done
