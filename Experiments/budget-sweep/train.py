"""Train Sprig's embedded default model: a small Qwen2 policy for long
multiplication (SFT) plus its SPRM head (MetaStone-S1 style: joint with the
backbone, SPR loss on the policy's own samples), evaluate, save a Hugging Face
folder. CPU, 2 threads. See README.md in this folder.

    python3 train.py --scale full --out ../../Models/sprig-mult
    python3 train.py --scale tiny                  # pipeline smoke test (~2 min)
"""
import argparse
import json
import math
import os
import random
import time

import torch
from safetensors.torch import save_file
from transformers import Qwen2Config, Qwen2ForCausalLM, GenerationConfig

import common as C
import sprig_tokenizer
import task

HERE = os.path.dirname(os.path.abspath(__file__))
SCALES = {
    # SFT minutes, model, batch, SPRM problems x k, joint epochs, eval problems per level, samples
    "tiny": dict(sft_min=0.4, hidden=64, layers=2, inter=192, heads=4, kv=2, batch=16, lr=3e-3,
                 sprm_problems=16, k=4, joint_epochs=2, frozen_epochs=4, eval_n=8, eval_k=4, greedy_n=16,
                 mix="easy:0.45,medium:0.35,hard:0.2", sprm_mix="easy:0.4,medium:0.4,hard:0.2"),
    # what fitted this session: 2 cores shared with ~5 compile jobs (load 11-17, ~2.6 GFLOP/s
    # measured); small model, easy-heavy mix, so the demo question (4 x 2 digits) works
    "full": dict(sft_min=9.0, hidden=64, layers=4, inter=192, heads=4, kv=2, batch=32, lr=3e-3,
                 sprm_problems=40, k=8, joint_epochs=2, frozen_epochs=30, eval_n=20, eval_k=16, greedy_n=50,
                 mix="easy:0.85,medium:0.15,hard:0", sprm_mix="easy:0.6,medium:0.4,hard:0"),
    # what the shipped model used: ~0.8M params, 14 min of SFT on 2 shared cores
    "cpu": dict(sft_min=13.0, hidden=128, layers=4, inter=384, heads=4, kv=2, batch=32, lr=3e-3,
                sprm_problems=64, k=8, joint_epochs=2, frozen_epochs=20, eval_n=30, eval_k=16, greedy_n=50,
                mix="easy:0.3,medium:0.35,hard:0.35", sprm_mix="easy:0.2,medium:0.4,hard:0.4"),
    # session 2 (shipped): padded-number format, easy -> medium -> hard curriculum,
    # more own samples for the SPRM (hard-heavy), every eval problem greedy
    "v2": dict(sft_min=12.0, hidden=128, layers=4, inter=384, heads=4, kv=2, batch=32, lr=3e-3,
               sprm_problems=240, k=8, joint_epochs=3, frozen_epochs=20, eval_n=40, eval_k=16, greedy_n=100,
               mix="easy:0.15,medium:0.35,hard:0.5",
               curriculum="0:easy=1;0.3:easy=0.3,medium=0.7;0.6:easy=0.15,medium=0.35,hard=0.5",
               sprm_mix="easy:0.1,medium:0.4,hard:0.5", answer_weight=1.0),
    # session 3: least-significant-digit-first format (task.py), all levels from the start
    "v3": dict(sft_min=14.0, hidden=128, layers=4, inter=384, heads=4, kv=2, batch=32, lr=3e-3,
               sprm_problems=240, k=8, joint_epochs=3, frozen_epochs=20, eval_n=40, eval_k=16, greedy_n=100,
               mix="single:0.1,easy:0.2,medium:0.3,hard:0.4", sprm_mix="easy:0.2,medium:0.4,hard:0.4",
               answer_weight=1.0),
    # the spec's size, for a quiet or bigger machine
    "big": dict(sft_min=60.0, hidden=192, layers=4, inter=512, heads=4, kv=2, batch=48, lr=2e-3,
                sprm_problems=200, k=8, joint_epochs=3, frozen_epochs=20, eval_n=100, eval_k=16, greedy_n=100,
                mix="easy:0.15,medium:0.35,hard:0.5", sprm_mix="easy:0,medium:0.3,hard:0.7"),
}


def parse_mix(s, sep=":"):
    """'easy:0.4,hard:0.6' (or with sep '=') -> {level: weight}, zero weights dropped."""
    return {k: float(v) for k, v in (kv.split(sep) for kv in s.split(",")) if float(v) > 0}
TEMPERATURE, TOP_P = 1.0, 1.0  # sampling defaults; cfg["temperature"] overrides (main sets the global)
GRAD_SCALE = 1e-4


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


def build_model(cfg, tok):
    conf = Qwen2Config(
        vocab_size=tok.get_vocab_size(), hidden_size=cfg["hidden"], intermediate_size=cfg["inter"],
        num_hidden_layers=cfg["layers"], num_attention_heads=cfg["heads"], num_key_value_heads=cfg["kv"],
        max_position_embeddings=512, rope_theta=10000.0, rms_norm_eps=1e-6, tie_word_embeddings=True,
        bos_token_id=None, eos_token_id=tok.token_to_id("<|im_end|>"), pad_token_id=tok.token_to_id("<|endoftext|>"),
        use_sliding_window=False, attention_dropout=0.0, hidden_act="silu", initializer_range=0.02,
    )
    return Qwen2ForCausalLM(conf)


def parse_curriculum(s):
    """'0:easy=1;0.3:easy=0.3,medium=0.7' -> [(start fraction, mix)], in order."""
    stages = []
    for part in s.split(";"):
        start, mix = part.split(":", 1)
        stages.append((float(start), parse_mix(mix, sep="=")))
    return stages


def sft(model, tok, ids, cfg, seed):
    """SFT on correct solutions under a wall-clock budget. With cfg["curriculum"] the
    level mix follows the stages by elapsed fraction (short easy problems first: the
    model learns to copy operands and the digit rules on short sequences, then the
    same rules on longer chains); otherwise cfg["mix"] throughout."""
    exclude = task.eval_pairs()
    stages = parse_curriculum(cfg["curriculum"]) if cfg.get("curriculum") else [(0.0, parse_mix(cfg["mix"]))]
    streams = [task.train_stream(seed + 17 * i, mix, exclude) for i, (_, mix) in enumerate(stages)]
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], betas=(0.9, 0.98), weight_decay=0.01)
    budget = cfg["sft_min"] * 60
    t0, step, ema, pool, cls_ema = time.time(), 0, None, [], {}
    dev = sample_problems(seed + 99, int(cfg.get("dev_n", 40)), {"hard": 1.0}) if cfg.get("dev_every") else []
    model.train()
    while True:
        frac = (time.time() - t0) / budget
        if frac >= 1:
            break
        if cfg.get("decay_from"):  # constant, then a cosine to 0.1x over decay_steps steps (by step, not time)
            t = min(1.0, max(0, step - cfg["decay_from"]) / cfg.get("decay_steps", 2000))
            decay = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t))
        else:
            decay = 1.0 if cfg.get("constant_lr") else 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac))
        lr = cfg["lr"] * min(1.0, (step + 1) / 30) * decay
        for g in opt.param_groups:
            g["lr"] = lr
        if not pool:  # length buckets: 8 batches drawn at once, sorted by length (less padding)
            stream = streams[max(i for i, (start, _) in enumerate(stages) if start <= frac)]
            ex = sorted((C.encode_example(tok, ids, *next(stream)[1:]) for _ in range(8 * cfg["batch"])),
                        key=lambda e: len(e[0]))
            pool = [ex[i: i + cfg["batch"]] for i in range(0, len(ex), cfg["batch"])]
            random.Random(step).shuffle(pool)
        seqs, pls = map(list, zip(*pool.pop()))
        x, m = C.pad_right(seqs, ids.pad)
        labels = x.clone()
        labels[m == 0] = -100
        for i, pl in enumerate(pls):
            labels[i, :pl] = -100
        loss, ce = weighted_answer_loss(model, x, m, labels, ids.end_think, cfg.get("answer_weight", 1.0))
        with torch.no_grad():  # per-class loss: which rule is still being guessed
            cls = token_class_tensor(tok, x)[:, 1:]
            for k, name in enumerate(CLASSES):
                sel = (cls == k) & (labels[:, 1:] != -100)
                if sel.any():
                    v = ce[sel].mean().item()
                    cls_ema[name] = v if name not in cls_ema else 0.98 * cls_ema[name] + 0.02 * v
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if step % 50 == 0:
            per = " ".join(f"{k} {v:.3f}" for k, v in cls_ema.items())
            log(f"sft step {step} loss {ema:.4f} [{per}] lr {lr:.2e} {(time.time() - t0) / step:.2f}s/step")
        if step % 250 == 0 and cfg.get("checkpoint"):  # a long run can be stopped and resumed (--resume-sft)
            torch.save(model.state_dict(), cfg["checkpoint"])
        if cfg.get("dev_every") and step % int(cfg["dev_every"]) == 0 and step >= cfg.get("dev_from", 0):
            g = greedy_accuracy(model, tok, ids, dev, max_new_for("hard"))
            model.train()
            log(f"dev step {step}: greedy hard {g:.3f} ({len(dev)} train-stream problems)")
            if cfg.get("checkpoint"):
                torch.save(model.state_dict(), cfg["checkpoint"].replace(".pt", f"-{step}.pt"))
            if cfg.get("stop_greedy") and g >= cfg["stop_greedy"]:
                log(f"dev greedy {g:.3f} >= stop_greedy {cfg['stop_greedy']}: SFT stops")
                break
    log(f"sft done: {step} steps, {step * cfg['batch']} examples, {time.time() - t0:.0f}s")
    return step


def weighted_answer_loss(model, x, m, labels, end_think, weight):
    """Token cross-entropy with the tokens after </think> (the final answer) weighted by
    `weight`. Why: the answer is a copy of the last running sum, and a small model
    otherwise settles for re-estimating it from the question (right first and last
    digits, guesses between): a 5 %-of-tokens target gives the copy too little gradient."""
    logits = model(input_ids=x, attention_mask=m).logits[:, :-1].float()
    target = labels[:, 1:]
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                           ignore_index=-100, reduction="none").view(target.shape)
    after = (x == end_think).long().cumsum(1)[:, 1:] > 0   # target position is past </think>
    w = torch.where(after, weight, 1.0) * (target != -100)
    return (ce * w).sum() / w.sum(), ce.detach()


CLASSES = ("C", "P", "S", "other")


def token_classes(texts):
    """Class of each token of one sequence (decoded texts): 'C' a carry digit of a
    product step (between '=' and ':'), 'P' a product digit (after ':'), 'S' a digit
    of a running sum (after '=' in a sum step), 'other' everything else (copies,
    layout, answer)."""
    out, row = [], None
    for t in texts:
        if t in ("*", "+"):
            row = t
        elif t == "=":
            row = "C" if row == "*" else "S" if row == "+" else None
        elif t == ":" and row == "C":
            row = "P"
        elif not t.isdigit():
            row = None
        out.append(row if (row in ("C", "P", "S") and t.isdigit()) else "other")
    return out


def token_class_tensor(tok, x):
    """[B, T] class index (CLASSES) of each token of a batch."""
    return torch.tensor([[CLASSES.index(c) for c in token_classes([tok.id_to_token(t) for t in row])]
                         for row in x.tolist()])


@torch.no_grad()
def greedy_accuracy(model, tok, ids, problems, max_new):
    """Greedy accuracy over (a, b) problems."""
    g = C.generate(model, ids, [C.encode_prompt(tok, a, b) for a, b in problems], greedy=True, max_new=max_new)
    return sum(task.is_correct(tok.decode(c, skip_special_tokens=False), a * b)
               for c, (a, b) in zip(g, problems)) / len(problems)


@torch.no_grad()
def sample_k(model, tok, ids, problems, k, max_new, *, temperature, top_p, seed):
    """k samples per (a, b) problem -> (data for step_features, correct flags, answers), flat."""
    flat = [C.encode_prompt(tok, a, b) for a, b in problems for _ in range(k)]
    comps = C.generate(model, ids, flat, greedy=False, temperature=temperature, top_p=top_p, max_new=max_new, seed=seed)
    texts = [tok.decode(c, skip_special_tokens=False) for c in comps]
    correct = [task.is_correct(t, problems[j // k][0] * problems[j // k][1]) for j, t in enumerate(texts)]
    data = [dict(seq=flat[j] + c, pl=len(flat[j])) for j, c in enumerate(comps)]
    return data, correct, [task.extract_answer(t) for t in texts]


def sample_metrics(problems, k, correct, answers):
    """Sample accuracy, pass@k and majority@k of k samples per problem (flat lists)."""
    P = len(problems)
    cg = [correct[p * k:(p + 1) * k] for p in range(P)]
    ag = [answers[p * k:(p + 1) * k] for p in range(P)]
    return dict(sample_acc=sum(correct) / len(correct), pass_k=sum(any(c) for c in cg) / P,
                maj_k=sum(C.majority(a) == x * y for a, (x, y) in zip(ag, problems)) / P)


def best_of(k, correct, scores):
    """Accuracy of picking, per problem, the highest-scoring of its k samples."""
    P = len(correct) // k
    return sum(correct[p * k + max(range(k), key=lambda j: scores[p * k + j])] for p in range(P)) / P


def sample_problems(seed, n, mix):
    stream = task.train_stream(seed, mix, task.eval_pairs())
    return [next(stream)[1:] for _ in range(n)]


def max_new_for(level):
    (_, a_hi), (_, b_hi) = task.LEVELS[level]
    a, b = 10 ** a_hi - 1, 10 ** b_hi - 1
    return len(sprig_tokenizer.build().encode(task.solution(a, b)).ids) + 24


def collect_samples(model, tok, ids, problems, k, seed):
    """k samples per problem -> list of dicts (seq, prompt_len, label, problem index)."""
    data, correct, _ = sample_k(model, tok, ids, problems, k, max_new_for("hard"),
                                temperature=TEMPERATURE, top_p=TOP_P, seed=seed)
    return [dict(d, label=float(c), prob=j // k) for j, (d, c) in enumerate(zip(data, correct))]


def train_joint(model, head, data, ids, cfg, *, filter_after_warmup=True, lm_weight=1.0, seed=0):
    """Joint SPRM training: epoch 0 is the class-balanced BCE warm-up, later epochs use
    the SPR filter. The head's gradient into the backbone is scaled by cfg["grad_scale"] (MetaStone: GRAD_SCALE);
    the LM loss on correct samples keeps the policy in place."""
    rng = random.Random(seed)
    opt = torch.optim.AdamW([
        {"params": head.parameters(), "lr": 1e-3, "weight_decay": 0.0},
        {"params": model.parameters(), "lr": 1e-4, "weight_decay": 0.0},
    ])
    bs = 32
    for ep in range(cfg["joint_epochs"]):
        filt = filter_after_warmup and ep > 0
        order = list(range(len(data)))
        rng.shuffle(order)
        model.train()
        head.train()
        tot, kept, n = 0.0, 0.0, 0
        for i in range(0, len(order), bs):
            batch = [data[j] for j in order[i: i + bs]]
            seqs = [d["seq"] for d in batch]
            feats, owners, _, _, logits, x, cm = C.features_and_logprobs(
                model, seqs, [d["pl"] for d in batch], ids, grad=True, grad_scale=cfg.get("grad_scale", GRAD_SCALE))
            lab = torch.tensor([d["label"] for d in batch])
            sl = head(feats.float())[:, 0]
            loss = C.spr_loss(sl, lab[owners], filter_agree=filt)
            w = cm * lab[:, None]  # LM loss only on correct samples' completions
            if w.sum() > 0:
                lp = torch.log_softmax(logits[:, :-1].float(), -1).gather(-1, x[:, 1:, None])[..., 0]
                loss = loss + lm_weight * -(lp * w).sum() / w.sum()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(model.parameters()) + list(head.parameters()), 1.0)
            opt.step()
            tot += loss.item()
            kept += ((sl.detach() > 0).float() == lab[owners]).float().mean().item()
            n += 1
        log(f"joint epoch {ep} ({'SPR' if filt else 'BCE warm-up'}): loss {tot / n:.4f}, head agrees {kept / n:.3f}")


@torch.no_grad()
def step_features(model, data, ids, bs=64, with_logprob=False):
    """Step features [nSteps, c] and owner index; with_logprob also per-seq (sum logprob, token count)."""
    model.eval()
    feats, owners, lps, cnts = [], [], [], []
    for i in range(0, len(data), bs):
        batch = data[i: i + bs]
        f, o, slp, cnt, *_ = C.features_and_logprobs(model, [d["seq"] for d in batch], [d["pl"] for d in batch], ids)
        feats.append(f.float())
        owners.append(o + i)
        lps.append(slp)
        cnts.append(cnt)
    out = (torch.cat(feats), torch.cat(owners))
    return out + (torch.cat(lps), torch.cat(cnts)) if with_logprob else out


def train_frozen(c, feats, owners, labels, epochs, *, spr, seed):
    torch.manual_seed(seed)
    head = C.make_head(c)
    opt = torch.optim.AdamW(head.parameters(), lr=1e-3)
    y = labels[owners]
    n = len(y)
    for ep in range(epochs):
        head.train()
        perm = torch.randperm(n)
        for i in range(0, n, 256):
            idx = perm[i: i + 256]
            sl = head(feats[idx])[:, 0]
            loss = C.spr_loss(sl, y[idx], filter_agree=spr and ep > 0)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return head.eval()


@torch.no_grad()
def evaluate(model, tok, ids, cfg, heads_on, seed):
    """heads_on: name -> (backbone, head). Greedy on every eval problem; eval_k samples on
    the first eval_n per level; selection and within-problem AUROC of each scorer."""
    res = {}
    for level in task.EVAL_LEVELS:
        recs = task.eval_split(level)[: cfg["greedy_n"]]
        pairs = [(r["a"], r["b"]) for r in recs]
        mx = max_new_for(level)
        greedy = greedy_accuracy(model, tok, ids, pairs, mx)
        sub, k = pairs[: cfg["eval_n"]], cfg["eval_k"]
        data, correct, answers = sample_k(model, tok, ids, sub, k, mx, temperature=TEMPERATURE, top_p=TOP_P, seed=seed)
        scores, cache = {}, {}
        for name, (bb, hd) in heads_on.items():
            if id(bb) not in cache:  # one forward per backbone
                cache[id(bb)] = step_features(bb, data, ids, with_logprob=True)
            f, o, slp, cnt = cache[id(bb)]
            if bb is model:
                scores["logprob_sum"], scores["logprob_mean"] = slp.tolist(), (slp / cnt.clamp(min=1)).tolist()
            scores[name] = C.trajectory_scores(hd(f)[:, 0], o, len(data)).tolist()
        P = len(sub)
        grp = lambda v: [v[p * k:(p + 1) * k] for p in range(P)]
        cg = grp(correct)
        r = dict(greedy=greedy, n_greedy=len(recs), n_sampled=P, k=k, **sample_metrics(sub, k, correct, answers),
                 select={}, auroc_within={})
        for name, sc in scores.items():
            sg = grp(sc)
            r["select"][name] = best_of(k, correct, sc)
            au, nmix = C.within_problem_auroc(list(zip(sg, cg)))
            r["auroc_within"][name] = au
            r["auroc_pooled_" + name] = C.auroc(sc, correct)
            r["n_mixed"] = nmix
        res[level] = r
        log(level, json.dumps(r))
    return res


def reference(model, head, tok, ids, n=2):
    out = []
    for r in task.eval_split("hard")[:n]:
        p = C.encode_prompt(tok, r["a"], r["b"])
        g = C.generate(model, ids, [p], greedy=True, max_new=max_new_for("hard"))[0]
        seq = p + g
        feats, _, slp, *_ = C.features_and_logprobs(model, [seq], [len(p)], ids)
        pos = C.step_positions(seq, ids)
        with torch.no_grad():
            logits = head(feats.float())[:, 0]
            s = torch.sigmoid(logits).tolist()
            traj = C.trajectory_scores(head(feats.float())[:, 0], torch.zeros(len(pos), dtype=torch.long), 1).item()
        out.append(dict(question=r["question"], answer=r["answer"], prompt=task.prompt(r["a"], r["b"]),
                        prompt_ids=p, greedy_ids=g, greedy_text=tok.decode(g, skip_special_tokens=False),
                        step_positions=pos, step_token_positions=[q + 1 for q in pos], step_scores=s,
                        step_logits=logits.tolist(),  # f32 sigmoids near 1 lose the logit; compare these
                        trajectory_score=traj, sum_logprob=slp.item()))
    return out


def save(model, head, tok, outdir, cfg, results, dtype):
    os.makedirs(outdir, exist_ok=True)
    model.config.torch_dtype = dtype
    model.to(getattr(torch, dtype)).save_pretrained(outdir, safe_serialization=True)
    model.float()
    hf = sprig_tokenizer.hf_tokenizer(tok)
    hf.save_pretrained(outdir)
    sd = {k: v.detach().float().contiguous() for k, v in head.state_dict().items()}
    save_file(sd, os.path.join(outdir, "sprm.safetensors"))
    torch.save(sd, os.path.join(outdir, "score_module.pt"))
    GenerationConfig(do_sample=True, temperature=TEMPERATURE, top_p=TOP_P, top_k=0,
                     eos_token_id=tok.token_to_id("<|im_end|>"), pad_token_id=tok.token_to_id("<|endoftext|>"),
                     max_new_tokens=max_new_for("hard")).save_pretrained(outdir)
    # readable by transformers 4.x too: top-level rope_theta / torch_dtype, template inside tokenizer_config
    p = os.path.join(outdir, "config.json")
    conf = json.load(open(p))
    conf.update(rope_theta=10000.0, torch_dtype=dtype)
    json.dump(conf, open(p, "w"), indent=2)
    p = os.path.join(outdir, "tokenizer_config.json")
    tc = json.load(open(p))
    tc.update(tokenizer_class="PreTrainedTokenizerFast", chat_template=sprig_tokenizer.CHAT_TEMPLATE,
              additional_special_tokens=["<|im_start|>", "<think>", "</think>"])
    json.dump(tc, open(p, "w"), indent=2)
    with open(os.path.join(outdir, "sprig.json"), "w") as f:
        template = task.PROMPT_TEMPLATE.replace("{a_rev}", f"{{a:rev{task.WIDTH}}}").replace("{b_rev}", f"{{b:rev{task.BWIDTH}}}")
        json.dump({"task": "multiplication", "prompt_template": template, "generation_prefix": "",
                   "step_patterns": [task.STEP], "answer_digits": "reversed",
                   # the trained operand sizes: Sprig maps other questions onto them (swap, trailing zeros)
                   "operand_digits": [[a[0], a[1], b[0], b[1]] for a, b in task.LEVELS.values()],
                   "answer_format": f"integer after </think>, least significant digit first, zero-padded to {task.WIDTH} digits",
                   "sampling": {"temperature": TEMPERATURE, "top_p": TOP_P},
                   "sprm": {"file": "sprm.safetensors", "feature": "hidden_states[-2]",
                            "position": "token before each step token", "aggregation": "geometric_mean"}},
                  f, indent=1)


def load_weights(model, path):
    """A torch state dict (runs/*.pt), or a saved model folder / its model.safetensors
    (e.g. ../../Models/sprig-mult), so a later run can continue the shipped weights."""
    if os.path.isdir(path):
        path = os.path.join(path, "model.safetensors")
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file
        sd = {k: v.float() for k, v in load_file(path).items()}
        missing, unexpected = model.load_state_dict(sd, strict=False)
        assert not unexpected and all(k == "lm_head.weight" for k in missing), (missing, unexpected)  # tied head
        model.tie_weights()
    else:
        model.load_state_dict(torch.load(path))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="tiny", choices=SCALES)
    ap.add_argument("--out", default=None)
    ap.add_argument("--work", default=os.path.join(HERE, "runs"))
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--resume-sft", action="store_true", help="reuse runs/<scale>-sft.pt")
    ap.add_argument("--continue-sft", default=None, help="start SFT from this state dict (another sft_min of training)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--threads", type=int, default=2, help="1 is faster when the cores are oversubscribed")
    ap.add_argument("--set", nargs="*", default=[], help="override scale entries, e.g. eval_n=25 k=8")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = dict(SCALES[args.scale])
    for kv in args.set:
        k, v = kv.split("=", 1)
        if k in cfg:
            cfg[k] = type(cfg[k])(v)
        else:  # a key the scale does not set: a number if it reads as one (grad_scale), else a string (curriculum)
            try:
                cfg[k] = float(v)
            except ValueError:
                cfg[k] = v
    global TEMPERATURE
    TEMPERATURE = float(cfg.get("temperature", TEMPERATURE))
    os.makedirs(args.work, exist_ok=True)
    T0 = time.time()
    tok = sprig_tokenizer.build()
    ids = C.Ids(tok)
    model = build_model(cfg, tok)
    nparam = sum(p.numel() for p in model.parameters())
    log(f"model params {nparam} ({nparam * 4 / 2**20:.2f} MiB f32), cfg {cfg}")
    sft_path = os.path.join(args.work, f"{args.scale}-sft.pt")
    timings = {}
    if args.resume_sft and os.path.exists(sft_path):
        model.load_state_dict(torch.load(sft_path))
        sft_steps = None
    else:
        if args.continue_sft:
            load_weights(model, args.continue_sft)
            log(f"continuing SFT from {args.continue_sft}")
        t = time.time()
        cfg["checkpoint"] = sft_path
        sft_steps = sft(model, tok, ids, cfg, args.seed + (7 if args.continue_sft else 0))
        del cfg["checkpoint"]
        timings["sft_s"] = time.time() - t
        torch.save(model.state_dict(), sft_path)
    # --- SPRM data: the SFT policy's own samples, outcome labels
    t = time.time()
    probs = sample_problems(args.seed + 1, cfg["sprm_problems"], parse_mix(cfg["sprm_mix"]))
    data = collect_samples(model, tok, ids, probs, cfg["k"], args.seed + 2)
    timings["sample_s"] = time.time() - t
    pos_frac = sum(d["label"] for d in data) / len(data)
    log(f"sprm data: {len(data)} trajectories, {pos_frac:.3f} correct, {time.time() - t:.0f}s")
    # --- frozen-backbone heads on the SFT backbone (SPR and plain BCE)
    t = time.time()
    sft_model = build_model(cfg, tok)
    sft_model.load_state_dict(model.state_dict())
    sft_model.eval()
    feats, owners = step_features(sft_model, data, ids)
    labels = torch.tensor([d["label"] for d in data])
    c = cfg["hidden"]
    frozen_spr = train_frozen(c, feats, owners, labels, cfg["frozen_epochs"], spr=True, seed=args.seed)
    frozen_bce = train_frozen(c, feats, owners, labels, cfg["frozen_epochs"], spr=False, seed=args.seed)
    timings["frozen_s"] = time.time() - t
    # --- joint SPR head (the shipped one)
    t = time.time()
    torch.manual_seed(args.seed)
    head = C.make_head(c)
    train_joint(model, head, data, ids, cfg, seed=args.seed)
    head.eval()
    timings["joint_s"] = time.time() - t
    # --- ship dtype: evaluate exactly the weights that are saved
    if args.dtype != "float32":
        model.to(getattr(torch, args.dtype)).float()
    t = time.time()
    results = evaluate(model, tok, ids, cfg, {"sprm_joint_spr": (model, head), "sprm_frozen_spr": (sft_model, frozen_spr),
                                               "sprm_frozen_bce": (sft_model, frozen_bce)}, args.seed + 3)
    timings["eval_s"] = time.time() - t
    timings["total_s"] = time.time() - T0
    summary = dict(scale=args.scale, params=nparam, sft_steps=sft_steps, cfg=cfg, 
                   sprm_trajectories=len(data), sprm_correct_frac=pos_frac, temperature=TEMPERATURE, top_p=TOP_P,
                   timings=timings, results=results, torch=torch.__version__, threads=torch.get_num_threads())
    with open(os.path.join(args.work, f"{args.scale}-results.json"), "w") as f:
        json.dump(summary, f, indent=1)
    log("timings", timings)
    if args.out:
        save(model, head, tok, args.out, cfg, results, args.dtype)
        with open(os.path.join(args.out, "reference.json"), "w") as f:
            json.dump(reference(model, head, tok, ids), f, indent=1)
        with open(os.path.join(args.out, "training_results.json"), "w") as f:
            json.dump(summary, f, indent=1)
        log("saved", args.out)


if __name__ == "__main__":
    main()
