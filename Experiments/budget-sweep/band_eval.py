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
        recs = [dict(a=a, b=b, answer=str(a * b)) for a, b in T.sample_problems(4242, 100, {level: 1.0})]
    else:
        recs = task.eval_split(level)
    prompts = [C.encode_prompt(tok, r["a"], r["b"]) for r in recs]
    mx = T.max_new_for(level)
    g = C.generate(m, ids, prompts, greedy=True, max_new=mx)
    res = {"greedy": sum(task.is_correct(tok.decode(c, skip_special_tokens=False), r["answer"])
                         for c, r in zip(g, recs)) / len(recs), "n_greedy": len(recs)}
    sub = recs[: args.n]
    for setting in args.temps.split(","):
        temp, top_p = (list(map(float, setting.split("/"))) + [1.0])[:2]
        flat = [p for p in prompts[: args.n] for _ in range(args.k)]
        comps = C.generate(m, ids, flat, greedy=False, temperature=temp, top_p=top_p, max_new=mx, seed=7)
        texts = [tok.decode(c, skip_special_tokens=False) for c in comps]
        correct = [task.is_correct(t, sub[j // args.k]["answer"]) for j, t in enumerate(texts)]
        answers = [task.extract_answer(t) for t in texts]
        data = [dict(seq=flat[j] + c, pl=len(flat[j])) for j, c in enumerate(comps)]
        _, _, slp, _ = T.step_features(m, data, ids, with_logprob=True)
        k = args.k
        cg = [correct[p * k:(p + 1) * k] for p in range(len(sub))]
        ag = [answers[p * k:(p + 1) * k] for p in range(len(sub))]
        lg = [slp[p * k:(p + 1) * k].tolist() for p in range(len(sub))]
        res[f"T{temp}" + (f"/p{top_p}" if top_p < 1 else "")] = dict(
            sample_acc=sum(correct) / len(correct), pass_k=sum(any(c) for c in cg) / len(sub),
            maj_k=sum(C.majority(a) == int(s["answer"]) for a, s in zip(ag, sub)) / len(sub),
            bon_logprob=sum(c[max(range(k), key=lambda j: l[j])] for c, l in zip(cg, lg)) / len(sub),
            n=len(sub), k=k)
    res["seconds"] = round(time.time() - t0, 1)
    out["levels"][level] = res
    print(level, json.dumps(res), flush=True)
print(json.dumps(out))
