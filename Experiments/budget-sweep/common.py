"""Shared pieces of train.py: encoding, batched sampling, step positions,
the SPRM head, scoring and metrics."""
import math
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F

import task


class Ids:
    def __init__(self, tok):
        v = tok.get_vocab()
        self.pad = v["<|endoftext|>"]
        self.im_start = v["<|im_start|>"]
        self.eos = v["<|im_end|>"]
        self.think = v["<think>"]
        self.end_think = v["</think>"]
        step = tok.encode(task.STEP).ids
        assert len(step) == 1, step
        self.step = step[0]


def encode_prompt(tok, a, b):
    return tok.encode(task.prompt(a, b)).ids


def encode_example(tok, ids, a, b):
    """(input ids, prompt length) for prompt + solution + EOS."""
    p = encode_prompt(tok, a, b)
    c = tok.encode(task.solution(a, b)).ids + [ids.eos]
    return p + c, len(p)


def pad_right(seqs, pad):
    n = max(len(s) for s in seqs)
    x = torch.full((len(seqs), n), pad, dtype=torch.long)
    m = torch.zeros((len(seqs), n), dtype=torch.long)
    for i, s in enumerate(seqs):
        x[i, : len(s)] = torch.tensor(s)
        m[i, : len(s)] = 1
    return x, m


def pad_left(seqs, pad):
    n = max(len(s) for s in seqs)
    x = torch.full((len(seqs), n), pad, dtype=torch.long)
    m = torch.zeros((len(seqs), n), dtype=torch.long)
    for i, s in enumerate(seqs):
        x[i, n - len(s):] = torch.tensor(s)
        m[i, n - len(s):] = 1
    return x, m


@torch.no_grad()
def generate(model, ids, prompts, *, greedy, temperature=1.0, top_p=1.0, max_new=200, chunk=1024, seed=0):
    """Batched generation with KV cache (transformers generate, left padding).
    Returns completion id lists, cut after the first EOS (EOS kept)."""
    model.eval()
    out = []
    gen = torch.Generator().manual_seed(seed)
    for i in range(0, len(prompts), chunk):
        x, m = pad_left(prompts[i: i + chunk], ids.pad)
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        kw = dict(do_sample=False) if greedy else dict(do_sample=True, temperature=temperature, top_p=top_p, top_k=0)
        y = model.generate(input_ids=x, attention_mask=m, max_new_tokens=max_new, eos_token_id=ids.eos,
                           pad_token_id=ids.pad, **kw)
        for row in y[:, x.shape[1]:].tolist():
            if ids.eos in row:
                row = row[: row.index(ids.eos) + 1]
            out.append(row)
    return out


def step_positions(seq, ids):
    """Positions whose hidden state scores a step: t-1 for each step token t that is
    strictly inside <think>...</think>, first of its run, not directly after <think>."""
    starts = [i for i, t in enumerate(seq) if t == ids.think]
    ends = [i for i, t in enumerate(seq) if t == ids.end_think]
    lo = starts[0] if len(starts) == 1 else 0
    hi = ends[0] if len(ends) == 1 else len(seq)
    pos = []
    for t in range(lo + 1, hi):
        if seq[t] != ids.step or seq[t - 1] == ids.step:
            continue
        if len(starts) == 1 and t == lo + 1:
            continue
        pos.append(t - 1)
    return pos


def make_head(c):
    return nn.Sequential(nn.Linear(c, 2 * c), nn.ReLU(), nn.Dropout(0.5), nn.Linear(2 * c, 1))


def scale_grad(x, s):
    """Identity forward; gradient multiplied by s."""
    return x.detach() + s * (x - x.detach())


def features_and_logprobs(model, seqs, prompt_lens, ids, *, grad=False, grad_scale=1.0):
    """One forward over right-padded seqs. Returns (step features [nSteps, c],
    step owner index [nSteps], per-seq sum logprob of completion, per-seq token count,
    logits, input, mask)."""
    x, m = pad_right(seqs, ids.pad)
    with torch.set_grad_enabled(grad):
        o = model(input_ids=x, attention_mask=m, output_hidden_states=True)
        h = o.hidden_states[-2]  # [B, T, c], input of the last decoder layer
        if grad:
            h = scale_grad(h, grad_scale)
        rows, cols = [], []
        for i, s in enumerate(seqs):
            for p in step_positions(s, ids):
                rows.append(i)
                cols.append(p)
        feats = h[torch.tensor(rows, dtype=torch.long), torch.tensor(cols, dtype=torch.long)]
        lp = torch.log_softmax(o.logits[:, :-1].float(), -1).gather(-1, x[:, 1:, None])[..., 0]
        cm = torch.zeros_like(lp)
        for i, (s, pl) in enumerate(zip(seqs, prompt_lens)):
            cm[i, pl - 1: len(s) - 1] = 1
        seq_lp = (lp * cm).sum(1)
    return feats, torch.tensor(rows, dtype=torch.long), seq_lp, cm.sum(1), o.logits, x, cm


def spr_loss(logits, labels, *, filter_agree, pos_weight=1.5):
    """Class-balanced step BCE against the outcome label; with filter_agree,
    only steps where the head's own prediction (p > 0.5) matches the label count."""
    bce = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    keep = torch.ones_like(labels)
    if filter_agree:
        keep = ((logits.detach() > 0).float() == labels).float()
    pos, neg = keep * labels, keep * (1 - labels)
    lp = (bce * pos).sum() / pos.sum().clamp(min=1)
    ln = (bce * neg).sum() / neg.sum().clamp(min=1)
    return (pos_weight * lp + ln) / (pos_weight + 1)


def trajectory_scores(step_logits, owners, n):
    """Geometric mean of sigmoid step scores (clamped at 1e-10); no steps -> 0."""
    logs = torch.log(torch.sigmoid(step_logits).clamp(min=1e-10))
    tot = torch.zeros(n).index_add_(0, owners, logs)
    cnt = torch.zeros(n).index_add_(0, owners, torch.ones_like(logs))
    return torch.where(cnt > 0, torch.exp(tot / cnt.clamp(min=1)), torch.zeros(n))


def auroc(scores, labels):
    pos = [s for s, l in zip(scores, labels) if l]
    neg = [s for s, l in zip(scores, labels) if not l]
    if not pos or not neg:
        return None
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


def within_problem_auroc(groups):
    """groups: list of (scores, labels) per problem -> (mean AUROC over mixed problems, count)."""
    vals = [a for a in (auroc(s, l) for s, l in groups) if a is not None]
    return (sum(vals) / len(vals) if vals else float("nan")), len(vals)


def majority(answers):
    c = Counter(a for a in answers if a is not None)
    return c.most_common(1)[0][0] if c else None
