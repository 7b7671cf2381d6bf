#!/usr/bin/env bash
# f32 vs q8 activations (and llama.cpp when llama-cpp-python is installed), interleaved
# rounds of `sprig bench --json`, one JSON line per run with the 1-minute load average.
# Usage: q8_activations.sh [ROUNDS]   (SPRIG=path/to/sprig, GGUF=model; output on stdout)
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
for ((r = 1; r <= ${1:-3}; r++)); do
    for a in f32 q8; do
        l=$(load); out=$("$SPRIG" bench --model "$GGUF" --json --activations "$a" | tr -d '\n')
        echo "{\"round\": $r, \"engine\": \"sprig\", \"load\": $l, \"result\": $out}"
    done
    if python3 -c 'import llama_cpp' 2>/dev/null; then
        l=$(load); out=$(OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive PYTHONWARNINGS=ignore \
            python3 Experiments/peers/bench_llamacpp.py --model "$GGUF" --threads 2 --steps 32 2>/dev/null | tail -1)
        echo "{\"round\": $r, \"engine\": \"llama.cpp\", \"load\": $l, \"result\": $out}"
    fi
done
