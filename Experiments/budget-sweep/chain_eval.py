"""Greedy chains of an SFT checkpoint, checked step by step: how many steps are
arithmetically right, how often the last running sum equals a*b, how often the
answer after </think> is right (what separates "can reason" from "can answer").

    python3 chain_eval.py runs/v3-sft.pt
"""
import os, sys, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train as T, common as C, task, sprig_tokenizer
torch.set_num_threads(2)

tok = sprig_tokenizer.build(); ids = C.Ids(tok)
m = T.build_model(dict(T.SCALES['v3']), tok); m.load_state_dict(torch.load(sys.argv[1])); m.eval()
for level in ['single', 'easy', 'medium', 'hard']:
    recs = task.eval_split(level)[:100]
    prompts = [C.encode_prompt(tok, r['a'], r['b']) for r in recs]
    g = C.generate(m, ids, prompts, greedy=True, max_new=T.max_new_for(level))
    texts = [tok.decode(c, skip_special_tokens=False) for c in g]
    acc = sum(task.is_correct(t, r['answer']) for t, r in zip(texts, recs)) / len(recs)
    # step accuracy: fraction of greedy steps that are arithmetically right, and of last sums equal to a*b
    ok = tot = last_ok = 0
    for t, r in zip(texts, recs):
        body = t.split('</think>')[0]
        steps = [s for s in body.replace('<think>\n', '').split('.\n\n') if s.strip()]
        for s in steps:
            try:
                lhs, rhs = s.split('=')
                x, y = (lhs.split('*') if '*' in lhs else lhs.split('+'))
                x, y = task.unrev(x), task.unrev(y)
                if '*' in lhs:  # 'C:P': the carries and the product
                    c, p = rhs.split(':')
                    ok += c == task.carries(x, y % 10) and task.unrev(p) == x * (y % 10)
                else:
                    ok += task.unrev(rhs) == x + y
                tot += 1
            except Exception:
                tot += 1
        try:
            last_ok += task.unrev(steps[-1].split('=')[-1]) == r['a'] * r['b']
        except Exception:
            pass
    print(f"{level}: greedy answer {acc:.2f}, last running sum right {last_ok / len(recs):.2f}, steps right {ok}/{tot} = {ok / max(tot, 1):.2f}", flush=True)
