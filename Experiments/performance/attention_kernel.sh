#!/usr/bin/env bash
# The AVX-512 C attention kernel against the Swift one (SPRIG_SWIFT_ATTENTION=1), in f32 and
# q8 activation modes, interleaved rounds of `sprig bench --json`; one JSON line per run
# with the 1-minute load average. Usage: attention_kernel.sh [ROUNDS] (SPRIG, GGUF as in
# q8_activations.sh; output on stdout).
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
for ((r = 1; r <= ${1:-3}; r++)); do
    for a in f32 q8; do
        for kernel in c swift; do
            l=$(load)
            flag=""
            [ "$kernel" = swift ] && flag=SPRIG_SWIFT_ATTENTION=1
            out=$(env ${flag:+"$flag"} "$SPRIG" bench --model "$GGUF" --json --activations "$a" | tr -d '\n')
            echo "{\"round\": $r, \"attention\": \"$kernel\", \"activations\": \"$a\", \"load\": $l, \"result\": $out}"
        done
    done
done
