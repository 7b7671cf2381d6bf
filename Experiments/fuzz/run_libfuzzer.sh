#!/usr/bin/env bash
# Coverage-guided campaign with libFuzzer + AddressSanitizer over all Checkpoint parsers.
# Usage: Experiments/fuzz/run_libfuzzer.sh [seconds=600] [jobs=1]
# Crashers land in Experiments/fuzz/out/ (crash-*, timeout-*, oom-*); new inputs in out/corpus.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
secs="${1:-600}"
jobs="${2:-1}"
out="$here/out"
mkdir -p "$out/corpus"
bin="$out/checkpoint-fuzz"
# One module from the library sources plus the entry point: internal API is reachable.
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name Checkpoint \
    "$root"/Sources/Checkpoint/*.swift "$here/FuzzEntry.swift" -o "$bin" 2> >(grep -v "Cannot export local symbol" >&2)
cd "$out"
# Seeds: the committed test fixtures (safetensors, sharded shards, GGUF, .pt) -- read only;
# libFuzzer writes new inputs to the first folder.
"$bin" -max_total_time="$secs" -max_len=16384 -rss_limit_mb=2048 -timeout=10 \
    -jobs="$jobs" -workers="$jobs" -print_final_stats=1 \
    "$out/corpus" "$root/Tests/CheckpointTests/Fixtures" "$root/Tests/CheckpointTests/Fixtures/sharded"
