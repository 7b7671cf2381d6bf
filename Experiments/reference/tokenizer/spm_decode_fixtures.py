#!/usr/bin/env python3
"""Decodes of id sequences with byte-fallback tokens, by Hugging Face `tokenizers`.

Hugging Face's ByteFallback decoder gathers each run of consecutive `<0xXX>` tokens and,
when the run is not valid UTF-8, writes one U+FFFD per byte token of the run (a valid
character inside an invalid run is replaced too). This writes sequences that probe that
(invalid runs, valid runs, runs split by pieces, a run at the start and at the end) with
the three tokenizer.json forms of spm_reference.json decoded by `tokenizers`, to
Tests/TokenizerTests/Fixtures/spm_decode_reference.json.

Usage (from the repository root): python3 Experiments/reference/tokenizer/spm_decode_fixtures.py
"""
import json
import os
import random

from tokenizers import Tokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
FIX = os.path.join(ROOT, "Tests", "TokenizerTests", "Fixtures")
ref = json.load(open(os.path.join(FIX, "spm_reference.json")))
forms = {name: Tokenizer.from_str(ref[f"hf_{name}_tokenizer"]) for name in ("legacy", "metaspace", "metaspace_split")}
tok = forms["legacy"]
byte = {b: tok.token_to_id(f"<0x{b:02X}>") for b in range(256)}
assert all(v is not None for v in byte.values())
pieces = [i for i in range(tok.get_vocab_size()) if i not in set(byte.values()) and i > 2]
rng = random.Random(5)


def b(*xs):
    return [byte[x] for x in xs]


seqs = [
    b(0xE4, 0xB8, 0xAD),                      # one valid 3-byte character
    b(0xE4, 0xB8),                            # truncated: 2 tokens → 2 U+FFFD
    b(0xE4, 0xB8, 0xAD, 0xFF),                # valid character + invalid byte: all 4 replaced
    b(0xFF, 0xFE, 0x41),                      # invalid bytes, then an ASCII byte in the same run
    [pieces[10]] + b(0xE4, 0xB8) + [pieces[20]] + b(0xAD),  # a run split by a piece
    b(0x80) + [pieces[30], pieces[31]],       # a stray continuation byte first
    [pieces[40]] + b(0xF0, 0x9F, 0x98, 0x80),  # a 4-byte character at the end
    [pieces[41]] + b(0xF0, 0x9F, 0x98),       # truncated 4-byte character at the end
    b(0x20, 0x41),                            # a space byte first (Strip)
    [1] + b(0xC3, 0xA9) + [2] + b(0xC3),      # specials between runs
    b(0xED, 0xA0, 0x80),                      # a surrogate's encoding: invalid
    b(0xC0, 0xAF),                            # an overlong encoding: invalid
]
for _ in range(40):
    s = []
    for _ in range(rng.randrange(1, 8)):
        if rng.random() < 0.5:
            s += [byte[rng.randrange(256)] for _ in range(rng.randrange(1, 5))]
        else:
            s.append(rng.choice(pieces))
    seqs.append(s)

out = {"notes": __doc__.strip().splitlines()[0], "cases": []}
for ids in seqs:
    out["cases"].append({"ids": ids, **{name: t.decode(ids, skip_special_tokens=False) for name, t in forms.items()}})
json.dump(out, open(os.path.join(FIX, "spm_decode_reference.json"), "w"), ensure_ascii=False, indent=0)
print(len(out["cases"]), "cases;", sum("\ufffd" in c["legacy"] for c in out["cases"]), "with U+FFFD")
