#!/usr/bin/env python3
"""raw.jsonl (one line per run from run.sh) -> results.json (best-of-rounds and median
per configuration and N, Sprig/peer ratios) plus a Markdown table on stdout."""
import json
import statistics
import sys

PAIRS = [  # (label, sprig config, peer config)
    ("SmolLM2 Q4_1: Sprig / llama.cpp", "sprig-q4_1", "llamacpp-q4_1"),
    ("SmolLM2 f32: Sprig / llama.cpp", "sprig-f32", "llamacpp-f32"),
    ("SmolLM2 f32: Sprig / transformers", "sprig-f32", "transformers-f32"),
    ("Qwen2-0.5B f32: Sprig / llama.cpp", "sprig-qwen05", "llamacpp-qwen05"),
    ("Qwen2-0.5B f32: Sprig / transformers", "sprig-qwen05", "transformers-qwen05"),
]


def main():
    raw, out = sys.argv[1], sys.argv[2]
    runs = [json.loads(line) for line in open(raw) if line.strip()]
    configs = {}
    for r in runs:
        c = configs.setdefault(r["config"], {"decode": {}, "prefill": [], "load_before": [], "rounds": 0})
        c["rounds"] += 1
        c["load_before"].append(r["load_before"])
        c["prefill"].append(r["result"]["prefill_tokens_per_s"])
        for d in r["result"]["decode"]:
            c["decode"].setdefault(str(d["sequences"]), []).append(d["tokens_per_s"])
        if "bandwidth_gbs" in r["result"]:
            c.setdefault("roofline", []).append({k: r["result"][k] for k in ("bandwidth_gbs", "gflops")})
            for d in r["result"]["decode"]:
                c.setdefault("roofline_fraction", {}).setdefault(str(d["sequences"]), []).append(d["roofline_fraction"])
    summary = {}
    for name, c in configs.items():
        s = {"rounds": c["rounds"], "load_before": c["load_before"],
             "prefill": stats(c["prefill"]), "decode": {n: stats(v) for n, v in c["decode"].items()}}
        if "roofline" in c:
            s["roofline"] = c["roofline"]
            s["roofline_fraction_best"] = {n: max(v) for n, v in c["roofline_fraction"].items()}
        summary[name] = s
    ratios = {}
    for label, a, b in PAIRS:
        if a in summary and b in summary:
            ratios[label] = {n: {k: summary[a]["decode"][n][k] / summary[b]["decode"][n][k] for k in ("best", "median")}
                             for n in summary[a]["decode"] if n in summary[b]["decode"]}
    loads = [r["load_before"] for r in runs]
    json.dump({"configs": summary, "ratios": ratios, "commit": runs[0]["commit"] if runs else None,
               "load_before": {"min": min(loads), "max": max(loads)} if loads else None},
              open(out, "w"), indent=1)
    table(summary, ratios)


def stats(values):
    return {"best": max(values), "median": statistics.median(values), "all": values}


def table(summary, ratios):
    ns = sorted({n for s in summary.values() for n in s["decode"]}, key=int)
    print("| configuration | prefill tok/s (best) | " + " | ".join(f"N={n} best / median" for n in ns) + " |")
    print("|---|---|" + "---|" * len(ns))
    for name, s in summary.items():
        cells = [f"{s['decode'][n]['best']:.1f} / {s['decode'][n]['median']:.1f}" if n in s["decode"] else "" for n in ns]
        print(f"| {name} | {s['prefill']['best']:.1f} | " + " | ".join(cells) + " |")
    print()
    print("| ratio | " + " | ".join(f"N={n} best / median" for n in ns) + " |")
    print("|---|" + "---|" * len(ns))
    for label, r in ratios.items():
        cells = [f"{r[n]['best']:.2f} / {r[n]['median']:.2f}" if n in r else "" for n in ns]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
