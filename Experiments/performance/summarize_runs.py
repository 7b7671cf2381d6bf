"""Per mode: tokens/s and roofline fraction ranges (min–max) and medians from a JSONL of
{"round", "mode", "load", "result": <sprig bench --json or bench_llamacpp.py line>}.
Usage: python3 summarize_runs.py RUN.jsonl"""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
modes = list(dict.fromkeys(r["mode"] for r in rows))
print("| mode | load | bandwidth GB/s | N = 1 tok/s (fraction) | N = 4 tok/s (fraction) | N = 16 tok/s (fraction) |")
print("|---|---|---|---|---|---|")
for m in modes:
    rs = [r for r in rows if r["mode"] == m]
    cells = []
    for n in (1, 4, 16):
        d = [x for r in rs for x in r["result"]["decode"] if x["sequences"] == n]
        t = [x["tokens_per_s"] for x in d]
        f = [x["roofline_fraction"] for x in d if "roofline_fraction" in x]
        cell = f"{min(t):.0f}–{max(t):.0f}, median {statistics.median(t):.0f}"
        if f:
            cell += f" ({min(f):.2f}–{max(f):.2f}, median {statistics.median(f):.2f})"
        cells.append(cell)
    bw = [r["result"]["bandwidth_gbs"] for r in rs if "bandwidth_gbs" in r["result"]]
    bws = f"{min(bw):.1f}–{max(bw):.1f}" if bw else "—"
    loads = [r["load"] for r in rs]
    print(f"| {m} | {min(loads):.1f}–{max(loads):.1f} | {bws} | " + " | ".join(cells) + " |")
