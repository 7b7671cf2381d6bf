"""Re-check a saved model folder from its files alone: tokenizer round trip and the
single step token, sizes, head key layout, and that reference.json's greedy ids and
SPRM step scores are reproduced by transformers + sprm.safetensors.

    python3 check_folder.py ../../Models/sprig-mult
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

import common as C


def main(folder):
    torch.set_num_threads(1)
    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    for s in ["<|im_start|>user\nWhat is 4821 * 37?<|im_end|>\n<|im_start|>assistant\n<think>\n4821 r6, 37 r1.\n\n</think>\n178377<|im_end|>",
              "héllo 12.\n\n\n x"]:
        assert tok.decode(tok.encode(s).ids, skip_special_tokens=False) == s
    assert tok.encode(".\n\n").ids == [257]
    head_sd = load_file(os.path.join(folder, "sprm.safetensors"))
    pt_sd = torch.load(os.path.join(folder, "score_module.pt"))
    assert sorted(head_sd) == ["0.bias", "0.weight", "3.bias", "3.weight"], sorted(head_sd)
    assert all(torch.equal(head_sd[k], pt_sd[k]) for k in head_sd)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    c = model.config.hidden_size
    assert head_sd["0.weight"].shape == (2 * c, c) and head_sd["3.weight"].shape == (1, 2 * c)
    head = C.make_head(c)
    head.load_state_dict(head_sd)
    head.eval()
    ids = C.Ids(tok)
    worst = 0.0
    for r in json.load(open(os.path.join(folder, "reference.json"))):
        assert tok.encode(r["prompt"]).ids == r["prompt_ids"]
        ref = r["greedy_ids"]  # a reference cut at the length limit has no EOS
        g = C.generate(model, ids, [r["prompt_ids"]], greedy=True,
                       max_new=len(ref) + (8 if ref and ref[-1] == ids.eos else 0))[0]
        assert g == r["greedy_ids"], "greedy continuation differs"
        feats, *_ = C.features_and_logprobs(model, [r["prompt_ids"] + g], [len(r["prompt_ids"])], ids)
        with torch.no_grad():
            s = torch.sigmoid(head(feats)[:, 0])
        worst = max(worst, (s - torch.tensor(r["step_scores"])).abs().max().item())
    sizes = {f: os.path.getsize(os.path.join(folder, f)) for f in sorted(os.listdir(folder))}
    print(json.dumps(sizes, indent=1), "total", sum(sizes.values()))
    print(f"ok: tokenizer round trip, step token 257, head keys, greedy ids reproduced, max |step score diff| {worst:.2e}")


if __name__ == "__main__":
    main(sys.argv[1])
