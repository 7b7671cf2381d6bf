#!/usr/bin/env bash
# Interleaved rounds of `sprig bench --json --steps STEPS --activations ACT` for several
# binaries or settings, one JSON line per run with the 1-minute load average.
# Usage: compare_binaries.sh ROUNDS STEPS LABEL=COMMAND [LABEL=COMMAND ...]
#   e.g. compare_binaries.sh 4 64 base=/tmp/base/sprig new=.build/release/sprig \
#        "nowarm=env SPRIG_WARM_BYTES=0 .build/release/sprig"
# (GGUF as in bench_env.sh; ACT=q8 unless set; output on stdout).
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
rounds=$1 steps=$2; shift 2
for ((r = 1; r <= rounds; r++)); do
    for spec in "$@"; do
        label=${spec%%=*} cmd=${spec#*=}
        l=$(load)
        out=$($cmd bench --model "$GGUF" --json --activations "${ACT:-q8}" --steps "$steps" | tr -d '\n')
        echo "{\"round\": $r, \"mode\": \"$label\", \"load\": $l, \"result\": $out}"
    done
done
