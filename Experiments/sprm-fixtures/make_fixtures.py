"""Reference fixtures for Tests/SPRMTests/Fixtures (run from the repo root or anywhere).

Makes a MetaStone-style SPRM head with c = 16, saved exactly the way the released
code stores it (torch.save of an nn.Sequential state dict), the same weights as
safetensors under a `score_module.` prefix, torch's sigmoid outputs for a few inputs,
and a truncated copy of the .pt for the error path.
"""
import json
import os

import torch
from safetensors.torch import save_file

C = 16
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../Tests/SPRMTests/Fixtures")

torch.manual_seed(20250725)
head = torch.nn.Sequential(
    torch.nn.Linear(C, 2 * C), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(2 * C, 1)
)
# Make the output bias and scale non-trivial so sigmoid outputs spread over (0, 1).
with torch.no_grad():
    head[3].weight.mul_(3.0)
    head[3].bias.fill_(0.25)
head.eval()

os.makedirs(OUT, exist_ok=True)
pt_path = os.path.join(OUT, "score_module.pt")
torch.save(head.state_dict(), pt_path)
save_file({"score_module." + k: v.contiguous() for k, v in head.state_dict().items()},
          os.path.join(OUT, "sprm_prefixed.safetensors"))

x = torch.randn(5, C) * 2.0
with torch.no_grad():
    p = torch.sigmoid(head(x)).squeeze(1)
with open(os.path.join(OUT, "expected_scores.json"), "w") as f:
    json.dump({"c": C, "inputs": x.tolist(), "scores": [float(v) for v in p.double()]}, f)

raw = open(pt_path, "rb").read()
with open(os.path.join(OUT, "truncated_score_module.pt"), "wb") as f:
    f.write(raw[: len(raw) // 2])
# Second layer too wide for the first: a well-formed .pt that is not a valid head.
bad = torch.nn.Sequential(torch.nn.Linear(C, 2 * C), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(3 * C, 1))
torch.save(bad.state_dict(), os.path.join(OUT, "bad_shape_score_module.pt"))
print("wrote fixtures to", os.path.normpath(OUT), [round(float(v), 4) for v in p])
