#!/bin/sh
# Fill the measured numbers into the model card and this README after a train.py run.
set -e
cd "$(dirname "$0")"
M=../../Models/sprig-mult
python3 report.py $M/training_results.json > /tmp/measured.md
python3 - <<'PY'
m = open("/tmp/measured.md").read()
card = open("card_template.md").read().replace("MEASURED", m)
open("../../Models/sprig-mult/README.md", "w").write(card)
PY
