"""Per-token loss of an SFT checkpoint on one sampled problem per level: which digits
the model already predicts (loss ~0) and which it guesses (ln 10 = 2.30).

    python3 token_loss.py runs/v3-sft.pt easy,hard   # checkpoint, levels
"""
import os, sys, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train as T, common as C, task, sprig_tokenizer
torch.set_num_threads(1)
tok = sprig_tokenizer.build(); ids = C.Ids(tok)
cfg = dict(T.SCALES['v3']); m = T.build_model(cfg, tok); m.load_state_dict(torch.load(sys.argv[1])); m.eval()
import random
rng = random.Random(5)
for level in sys.argv[2].split(','):
    ex = [C.encode_example(tok, ids, *task.sample_problem(rng, level)) for _ in range(64)]
    x, msk = C.pad_right([e[0] for e in ex], ids.pad)
    with torch.no_grad(): lg = m(input_ids=x, attention_mask=msk).logits
    lp = torch.log_softmax(lg[:, :-1], -1).gather(-1, x[:, 1:, None])[..., 0]
    # print per-position loss for the first example
    s, pl = ex[0]
    toks = [tok.decode([t]) for t in s]
    out = []
    for i in range(pl, len(s)):
        out.append(f"{toks[i]!r}:{-lp[0, i-1].item():.2f}")
    print(level, ' '.join(out)[:1500])
