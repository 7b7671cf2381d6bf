#!/usr/bin/env bash
# q8 activations on weights re-laid-out once as row tiles for the VNNI kernel (default) against the kernel
# that transposes every 16-block group per product (SPRIG_Q8_PACKED=0), with the f32 default
# as a third column: interleaved rounds of `sprig bench --json --steps STEPS`, one JSON line
# per run with the 1-minute load average. Usage: row_tiles.sh [ROUNDS] [STEPS]
# (SPRIG, GGUF as in bench_env.sh; output on stdout).
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
for ((r = 1; r <= ${1:-3}; r++)); do
    for mode in tiles transposing f32; do
        l=$(load)
        a=q8; flag=SPRIG_Q8_PACKED=1
        [ "$mode" = transposing ] && flag=SPRIG_Q8_PACKED=0
        [ "$mode" = f32 ] && a=f32
        out=$(env "$flag" "$SPRIG" bench --model "$GGUF" --json --activations "$a" --steps "${2:-64}" | tr -d '\n')
        echo "{\"round\": $r, \"mode\": \"$mode\", \"load\": $l, \"result\": $out}"
    done
done
