#!/usr/bin/env bash
# Longer run of the seeded mutation harness that `swift test` runs with 4000 iterations per seed.
# Usage: Experiments/fuzz/run_mutation.sh [iterations per seed file=200000] [seed=20251126]
# Each input is a pure function of (seed, seed file, iteration); a crash kills the run and
# the input that caused it is left in Experiments/fuzz/out/current.bin.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$here/out"
cd "$here/../.."
SPRIG_FUZZ_ITERATIONS="${1:-200000}" SPRIG_FUZZ_SEED="${2:-20251126}" SPRIG_FUZZ_SAVE_DIR="$here/out" \
    swift test --filter CheckpointFuzzTests 2>&1 | grep -E "fuzz:|error|passed|failed"
