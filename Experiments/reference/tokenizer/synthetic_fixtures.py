"""Small synthetic tokenizers built with Hugging Face `tokenizers`, with the ids it
gives, for options the real vocabularies do not use: added tokens with
lstrip / rstrip / single_word / normalized, ByteLevel(add_prefix_space),
"a b" string merges, ignore_merges, a TemplateProcessing BOS and the Llama-3 regex.

Writes Tests/TokenizerTests/Fixtures/synthetic_reference.json:
  [{"name", "tokenizer": <tokenizer.json text>, "cases": [{"text", "ids"}]}]
"""
import json
import os

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors, normalizers

TEXTS = [
    "hello world", "the hell", "Hello there, the tall hello!", "hello<ctl>world", "x [L] y", "x   [L]y",
    "[R]   next", "a[R]\n\nb", "word wordy sword word", "(word)", "word_x", "_word", "norm normal Norm",
    "<ctl><ctl_long><ctl_longer>", "  spaced  ", "1234567 89", "it's THE 'LL", "caf\u00e9 cafe\u0301",
    "[L][R][L]", "<ctl_lo", "\u00e9\u00e9 \U0001f600", "hellohello", "tthe", "",
] + [s for c in ["_", "\u0301", "\u203f", "\u200d", "\u00b2", "\u2160", "1", "\u0663", "a", "\u02b0",
                 "-", " ", "\u00a0", "\u0345", "\u24b6"] for s in (c + "word", "word" + c)]


def base_vocab_and_merges():
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(alphabet)}
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("l", "l"), ("he", "ll"), ("hell", "o"),
              ("Ġ", "w"), ("o", "r"), ("Ġw", "or"), ("1", "2"), ("12", "3"), ("Ġ", "Ġ"), ("ĠĠ", "ĠĠ")]
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab.setdefault("hellohello", len(vocab))  # reachable only through ignore_merges
    vocab.setdefault("tthe", len(vocab))
    return vocab, merges


def build(name):
    vocab, merges = base_vocab_and_merges()
    tok = Tokenizer(models.BPE(vocab, merges, ignore_merges=(name == "ignore_merges")))
    if name == "prefix_space":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    elif name == "llama3_digits":
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"),
                                 behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        tok.normalizer = normalizers.NFC()
    else:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken("<ctl>", special=True, normalized=False),
                            AddedToken("<ctl_long>", special=True, normalized=False),
                            AddedToken("<ctl_longer>", special=True, normalized=False)])
    tok.add_tokens([AddedToken("[L]", lstrip=True, normalized=False),
                    AddedToken("[R]", rstrip=True, normalized=False),
                    AddedToken("word", single_word=True, normalized=False),
                    AddedToken("norm", normalized=True)])
    if name == "bos_template":
        bos = tok.token_to_id("<ctl>")
        tok.post_processor = processors.TemplateProcessing(single="<ctl> $A <ctl_long>", pair="<ctl> $A $B",
                                                           special_tokens=[("<ctl>", bos), ("<ctl_long>", tok.token_to_id("<ctl_long>"))])
    data = json.loads(tok.to_str())
    if name == "string_merges":
        data["model"]["merges"] = [" ".join(m) for m in data["model"]["merges"]]
        tok = Tokenizer.from_str(json.dumps(data))
    return tok, data


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "../../../Tests/TokenizerTests/Fixtures/synthetic_reference.json")
    fixtures = []
    for name in ["plain", "prefix_space", "string_merges", "ignore_merges", "bos_template", "llama3_digits"]:
        tok, data = build(name)
        cases = [{"text": t, "ids": tok.encode(t).ids} for t in TEXTS]
        fixtures.append({"name": name, "tokenizer": json.dumps(data), "cases": cases})
    with open(out, "w", encoding="utf-8") as f:
        json.dump(fixtures, f, ensure_ascii=True, separators=(",", ":"))
    print(out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
