#!/usr/bin/env python3
"""Writes an MCTS-shaped synthetic Sprig trace (the format of Sources/StepSearch/Trace.swift).

Usage: synth_trace.py OUT.json [--nodes 500] [--tokens 160000] [--seed 1]
Expansions of 4 children under random open nodes, ~4 characters of text per token, steps
ending in ".\\n\\n" with one score each, a few pruned / finished nodes, the last node cut
by the budget, the chosen path = that node's ancestors. Text includes markup on purpose.
"""
import argparse, json, random

WORDS = "so the product is carry the one then add we get check digit times".split()

def make(nodes, tokens, seed, children=4):
    rng = random.Random(seed)
    out = [dict(id=0, parent=None, tokens=0, text="", step_scores=[], visits=nodes, value=0.5,
                score=0.0, terminal=False, pruned=False, stop="root")]
    open_ids, used, per = [0], 0, max(1, tokens // max(1, nodes - 1))
    while len(out) < nodes and open_ids:
        parent = rng.choice(open_ids)
        for _ in range(children):
            if len(out) >= nodes:
                break
            last = len(out) == nodes - 1
            t = tokens - used if last else per
            text, scores = "", []
            while len(text) < 4 * t:
                s = " ".join(rng.choice(WORDS) for _ in range(12))
                if rng.random() < 0.02:
                    s += " </script><img src=x onerror=alert(1)> & <b>"
                if rng.random() < 0.35:
                    text += s + ".\n\n"
                    scores.append(round(rng.random(), 4))
                else:
                    text += s + ". "
            terminal = rng.random() < 0.15
            nid = len(out)
            out.append(dict(id=nid, parent=parent, tokens=t, text=text, step_scores=scores,
                            visits=1 + rng.randrange(9), value=round(rng.random(), 4),
                            score=round(rng.random(), 4), terminal=terminal,
                            pruned=rng.random() < 0.1,
                            stop="budget" if last else ("endOfSequence" if terminal else "tokenLimit")))
            used += t
            if not terminal:
                open_ids.append(nid)
    chosen, c = [], len(out) - 1
    while c is not None:
        chosen.append(c)
        c = out[c]["parent"]
    return dict(nodes=out, tokens_used=used, budget=tokens, strategy="mcts", seed=seed,
                chosen=chosen[::-1], question="What is 347 × 29? <i>synthetic</i>", answer="10063",
                completion_tokens=0, completion_text="")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--nodes", type=int, default=500)
    ap.add_argument("--tokens", type=int, default=160_000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    trace = make(a.nodes, a.tokens, a.seed)
    with open(a.out, "w") as f:
        json.dump(trace, f, ensure_ascii=False)
    print(f"{a.out}: {len(trace['nodes'])} nodes, {trace['tokens_used']} tokens")

if __name__ == "__main__":
    main()
