"""Is an SFT checkpoint in the issue's band? Greedy accuracy per level (eval split), and
on the first N problems per level k samples at each temperature: sample accuracy,
pass@k, majority@k, Best-of-k by sequence log-probability.

    python3 band_eval.py runs-x1/v3-sft-4000.pt --temps 1.0,0.7 --n 40 --k 16 [--dev]
    (--shape hidden=128,layers=4,heads=4,kv=2,inter=384 when the run changed the shape)
"""
import argparse, json, os, sys, time
import torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train as T, common as C, task, sprig_tokenizer

ap = argparse.ArgumentParser()
ap.add_argument("ckpt")
ap.add_argument("--temps", default="1.0", help="comma-separated; T or T/top_p, e.g. 1.0,1.0/0.9")
ap.add_argument("--n", type=int, default=40)
ap.add_argument("--k", type=int, default=16)
ap.add_argument("--levels", default="easy,medium,hard")
ap.add_argument("--shape", default="")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--dev", action="store_true", help="training-stream problems (never the eval split): for choosing settings")
args = ap.parse_args()
torch.set_num_threads(args.threads)
tok = sprig_tokenizer.build(); ids = C.Ids(tok)
cfg = dict(T.SCALES["v3"])
for kv in filter(None, args.shape.split(",")):
    k, v = kv.split("=")
    cfg[k] = int(v)
m = T.build_model(cfg, tok)
T.load_weights(m, args.ckpt)
m.eval()
out = {"ckpt": args.ckpt, "levels": {}}
for level in args.levels.split(","):
    t0 = time.time()
    if args.dev:
        pairs = T.sample_problems(4242, 100, {level: 1.0})
    else:
        pairs = [(r["a"], r["b"]) for r in task.eval_split(level)]
    mx = T.max_new_for(level)
    res = {"greedy": T.greedy_accuracy(m, tok, ids, pairs, mx), "n_greedy": len(pairs)}
    sub = pairs[: args.n]
    for setting in args.temps.split(","):
        temp, top_p = (list(map(float, setting.split("/"))) + [1.0])[:2]
        data, correct, answers = T.sample_k(m, tok, ids, sub, args.k, mx, temperature=temp, top_p=top_p, seed=7)
        _, _, slp, _ = T.step_features(m, data, ids, with_logprob=True)
        res[f"T{temp}" + (f"/p{top_p}" if top_p < 1 else "")] = dict(
            **T.sample_metrics(sub, args.k, correct, answers), bon_logprob=T.best_of(args.k, correct, slp.tolist()),
            n=len(sub), k=args.k)
    res["seconds"] = round(time.time() - t0, 1)
    out["levels"][level] = res
    print(level, json.dumps(res), flush=True)
print(json.dumps(out))
