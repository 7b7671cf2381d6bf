"""Reference pre-tokenizer splits from Hugging Face `tokenizers` (Oniguruma regexes).

Writes Tests/TokenizerTests/Fixtures/pretokenize_reference.json:
  patterns: for the GPT-2, Qwen2 and Llama-3 split regexes, the [start, end)
            code-point offsets of each piece of every corpus string;
  behaviors: Split(\\p{N}) with each SplitDelimiterBehavior and invert, on a subset;
  digits: Digits(individual_digits) both ways.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus import corpus  # noqa: E402
from tokenizers import Regex, pre_tokenizers  # noqa: E402

PATTERNS = {
    "gpt2": r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
    "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    "llama3": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
}


def offsets(pre, text):
    out = []
    for piece, (a, b) in pre.pre_tokenize_str(text):
        assert text[a:b] == piece
        out.append([a, b])
    return out


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "../../../Tests/TokenizerTests/Fixtures/pretokenize_reference.json")
    texts = corpus()
    fix = {"texts": texts, "patterns": {}, "behaviors": [], "digits": []}
    for name, pattern in PATTERNS.items():
        pre = pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False)
        fix["patterns"][name] = {"regex": pattern, "pieces": [offsets(pre, t) for t in texts]}
    subset = list(range(0, len(texts), 3))
    for behavior in ["removed", "isolated", "merged_with_previous", "merged_with_next", "contiguous"]:
        for invert in [False, True]:
            pre = pre_tokenizers.Split(Regex(r"\p{N}"), behavior=behavior, invert=invert)
            fix["behaviors"].append({"behavior": behavior, "invert": invert,
                                     "pieces": {str(i): offsets(pre, texts[i]) for i in subset}})
    for individual in [False, True]:
        pre = pre_tokenizers.Digits(individual_digits=individual)
        fix["digits"].append({"individual": individual, "pieces": {str(i): offsets(pre, texts[i]) for i in subset}})
    with open(out, "w", encoding="utf-8") as f:
        json.dump(fix, f, ensure_ascii=True, separators=(",", ":"))
    print(out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
