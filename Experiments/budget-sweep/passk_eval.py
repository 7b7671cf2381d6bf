"""pass@k on the hard eval split with the unbiased estimator (Chen et al. 2021): n ≥ k samples
per problem at the model's temperature, pass@k = mean over problems of 1 − C(n − c, k) / C(n, k)
(c = right samples). One draw of exactly k samples per problem (what train.py reports) has
several times the variance; this is the same quantity measured more tightly.

    python3 passk_eval.py MODEL_FOLDER_OR_PT [--n 48] [--k 16] [--problems 100] [--level hard] [--dump FILE]
"""
import argparse, json, math, os, sys, time
import torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train as T, common as C, task, sprig_tokenizer

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("--n", type=int, default=48)
ap.add_argument("--k", type=int, default=16)
ap.add_argument("--problems", type=int, default=100)
ap.add_argument("--level", default="hard")
ap.add_argument("--temperature", type=float, default=1.0)
ap.add_argument("--seed", type=int, default=11)
ap.add_argument("--dump", help="write per-problem right-sample counts (a, b, c of n) as JSONL here")
args = ap.parse_args()
torch.set_num_threads(2)
tok = sprig_tokenizer.build(); ids = C.Ids(tok)
m = T.build_model(dict(T.SCALES["v3"]), tok)
T.load_weights(m, args.model)
m.eval()
pairs = [(r["a"], r["b"]) for r in task.eval_split(args.level)][: args.problems]
t0 = time.time()
mx = T.max_new_for(args.level)
greedy = T.greedy_accuracy(m, tok, ids, pairs, mx)
_, correct, _ = T.sample_k(m, tok, ids, pairs, args.n, mx, temperature=args.temperature, top_p=1.0, seed=args.seed)
cs = [sum(correct[p * args.n:(p + 1) * args.n]) for p in range(len(pairs))]
passk = sum(1 - math.comb(args.n - c, args.k) / math.comb(args.n, args.k) for c in cs) / len(pairs)
if args.dump:
    with open(args.dump, "w") as f:
        for (a, b), c in zip(pairs, cs): f.write(json.dumps(dict(a=a, b=b, right=c, n=args.n)) + "\n")
first_k = sum(any(correct[p * args.n:p * args.n + args.k]) for p in range(len(pairs))) / len(pairs)
print(json.dumps(dict(model=args.model, level=args.level, problems=len(pairs), greedy=greedy, n=args.n, k=args.k,
                      pass_k_unbiased=round(passk, 4), pass_k_first_k_samples=first_k,
                      sample_acc=round(sum(cs) / (len(pairs) * args.n), 4), seconds=round(time.time() - t0))))
