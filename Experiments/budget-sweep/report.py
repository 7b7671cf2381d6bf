"""Render the measured numbers of a train.py run (training_results.json) as a
markdown table; used for the model card and this folder's README.

    python3 report.py ../../Models/sprig-mult/training_results.json
"""
import json
import sys


def fmt(x):
    return "n/a" if x is None or x != x else f"{x:.2f}"


def render(summary):
    cfg, t = summary["cfg"], summary["timings"]
    lines = [
        f"Run: scale `{summary['scale']}`, {summary['params']:,} parameters, "
        f"{summary['sft_steps']} SFT steps × batch {cfg['batch']}, torch {summary['torch']}, "
        f"{summary['threads']} threads. Sampling temperature {summary['temperature']}, top-p {summary['top_p']}.",
        f"Wall-clock: SFT {t.get('sft_s', 0) / 60:.1f} min, own samples {t['sample_s'] / 60:.1f} min, "
        f"frozen heads {t['frozen_s'] / 60:.1f} min, joint head {t['joint_s'] / 60:.1f} min, "
        f"evaluation {t['eval_s'] / 60:.1f} min, total {t['total_s'] / 60:.1f} min.",
        f"SPRM training data: {summary['sprm_trajectories']} own samples, "
        f"{summary['sprm_correct_frac']:.2f} correct.",
        "",
        "| level | greedy | sample acc | pass@k | maj@k | BoN joint SPR | BoN frozen SPR | BoN frozen BCE | BoN logprob sum | BoN logprob mean |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for lv, r in summary["results"].items():
        s = r["select"]
        lines.append(
            f"| {lv} (greedy n={r['n_greedy']}, sampled {r['n_sampled']}×{r['k']}) | {fmt(r['greedy'])} | "
            f"{fmt(r['sample_acc'])} | {fmt(r['pass_k'])} | {fmt(r['maj_k'])} | {fmt(s['sprm_joint_spr'])} | "
            f"{fmt(s['sprm_frozen_spr'])} | {fmt(s['sprm_frozen_bce'])} | {fmt(s['logprob_sum'])} | {fmt(s['logprob_mean'])} |")
    lines += ["", "Within-problem AUROC of trajectory scores (mean over problems with both correct and wrong samples):", "",
              "| level | mixed problems | joint SPR | frozen SPR | frozen BCE | logprob sum | logprob mean |",
              "|---|---|---|---|---|---|---|"]
    for lv, r in summary["results"].items():
        a = r["auroc_within"]
        lines.append(f"| {lv} | {r['n_mixed']} | {fmt(a['sprm_joint_spr'])} | {fmt(a['sprm_frozen_spr'])} | "
                     f"{fmt(a['sprm_frozen_bce'])} | {fmt(a['logprob_sum'])} | {fmt(a['logprob_mean'])} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(json.load(open(sys.argv[1]))))
