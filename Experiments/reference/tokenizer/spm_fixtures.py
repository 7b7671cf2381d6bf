"""Reference ids for SentencePiece-style (Llama-2 family) tokenizers, in three forms.

Writes, into Tests/TokenizerTests/Fixtures (or the directory given as the first argument):

- `spm-llama.gguf`: a vocab-only Llama GGUF (no tensors; llama.cpp opens it with vocab_only=True).
- `spm_reference.json`: the two Hugging Face tokenizer.json files (as text) and, for ~100 strings,
  the ids and decodes from Hugging Face `tokenizers`, llama.cpp and sentencepiece.

Run from the repository root:

    pip install sentencepiece protobuf tokenizers transformers gguf llama-cpp-python
    python3 Experiments/reference/tokenizer/spm_fixtures.py

Everything is deterministic (fixed seeds, single-threaded sentencepiece training); running it twice
gives byte-identical files. Versions used: sentencepiece 0.2.3, tokenizers 0.23.3,
transformers 5.24.0, gguf 0.19.0, llama-cpp-python 0.3.36 (libllama 0.5.0-dev).

1. A SentencePiece BPE model is trained on text generated here (seeded sentences, arithmetic,
   whitespace runs, tabs, a little accented Latin): vocab 900, byte_fallback, split_digits,
   add_dummy_prefix, identity normalization, remove_extra_whitespaces off,
   allow_whitespace_only_pieces (Llama 2's options), unk/bos/eos = 0/1/2, no pad.
   Newlines never reach training (sentencepiece reads lines), so "\\n" is <0x0A> as in Llama 2.

2. Two tokenizer.json files from transformers' `LlamaConverter` (the slow->fast converter that
   `LlamaTokenizerFast(from_slow=True)` used), given transformers' `SentencePieceBackend` (the slow
   sentencepiece tokenizer of transformers 5) with `legacy=True` / `legacy=False`, then wrapped in
   `LlamaTokenizer(tokenizer_object=..., add_bos_token=True, add_eos_token=False)` and saved with
   `save_pretrained`. transformers 5.24's `SpmConverter.tokenizer` calls its sentencepiece extractor
   with the transformers-4 signature `extract(vocab_scores) -> (vocab, merges)` and fails for BPE, so
   the converter is given an extractor with that signature; merges come from transformers' own
   `generate_merges(vocab, vocab_scores)`, as in transformers 4. (transformers 5's own path,
   `LlamaTokenizer.from_pretrained(dir with tokenizer.model, legacy=...)`, gives a third form not used
   here: Metaspace prepend_scheme "always"/"first", no normalizer, model unk_token null, and no BOS in
   the post-processor unless add_bos_token is passed.)

   hf_legacy (legacy=True):
     normalizer     Sequence[Prepend("▁"), Replace(" " -> "▁")]
     pre_tokenizer  null
     decoder        Sequence[Replace("▁" -> " "), ByteFallback, Fuse, Strip(" ", start=1, stop=0)]
     post_processor TemplateProcessing single "<s>:0 $A:0", pair "<s>:0 $A:0 <s>:1 $B:1"
     model          BPE byte_fallback=true fuse_unk=true unk_token="<unk>" ignore_merges=false
     added tokens   <unk> 0, <s> 1, </s> 2: special, normalized=false, no strip
   hf_metaspace (legacy=False, add_prefix_space default):
     normalizer     null
     pre_tokenizer  Metaspace(replacement "▁", prepend_scheme "first", split false)
     decoder, post_processor, model, added tokens: as hf_legacy
   tokenizer_config.json (saved by transformers 5) has no add_bos_token / legacy keys.

3. spm-llama.gguf, written with `gguf` the way llama.cpp's converter stores a sentencepiece vocab:
   tokenizer.ggml.model "llama", pre "default", tokens / scores / token_type (1 normal, 2 unknown,
   3 control, 6 byte), bos 1, eos 2, unk 0, add_bos_token true, add_eos_token false,
   add_space_prefix true, and small llama hparams (context 4096, embedding 8, 1 block, ...).

4. Per case: `hf_legacy` / `hf_metaspace`: `Tokenizer.from_str(tokenizer.json)`; ids =
   encode(add_special_tokens=True), ids_plain = add_special_tokens=False, decoded /
   decoded_skip = decode(ids, skip_special_tokens=False / True).
   `llama_cpp`: Llama(vocab_only=True); ids = tokenize(add_bos=True, special=True), ids_plain =
   add_bos=False, special=True; decoded = Llama.detokenize(ids) (special=False: control tokens
   render as nothing; the Python wrapper drops one leading space when ids[0] is BOS);
   decoded_special = Llama.detokenize(ids, special=True) (renders "<s>", no space dropped since the
   text then starts with "<s>"); detok_c = the C API llama_detokenize(ids, remove_special=False,
   unparse_special=True), llama.cpp's own decode (common_detokenize), which drops the first
   piece's leading space (add_space_prefix). `sentencepiece`: SentencePieceProcessor.encode(text)
   (no BOS; "<s>" in text is plain text to sentencepiece).

What the run shows (121 cases: 91 hand-picked, 30 seeded random): hf_legacy and llama_cpp give the same
ids (with and without BOS) and the same decodes (hf decoded == detok_c == decoded_special; hf
decoded_skip == llama_cpp decoded) on every case; sentencepiece agrees with both wherever the text
holds no "<s>", "</s>", "<unk>". hf_metaspace differs (a) when the text starts with " " or "▁":
Metaspace does not prepend "▁" to text that already starts with "▁" (" Hello" -> "▁He l lo", the
others "▁▁ He l lo"), and (b) after a special token: prepend_scheme "first" adds "▁" only to the
first chunk ("<s>Hello" -> "<s> He l lo"; hf_legacy and llama.cpp "<s> ▁He l lo").
"""
import ctypes
import json
import os
import random
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")

import gguf  # noqa: E402
import sentencepiece as spm  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402
from transformers import LlamaTokenizer  # noqa: E402
from transformers.convert_slow_tokenizer import LlamaConverter  # noqa: E402
from transformers.tokenization_utils_base import generate_merges  # noqa: E402
from transformers.tokenization_utils_sentencepiece import SentencePieceBackend  # noqa: E402

VOCAB_SIZE = 900


# ---------------------------------------------------------------- training text
def training_text(seed=20240611):
    rng = random.Random(seed)
    subjects = ["the cat", "a small dog", "my friend", "the teacher", "our team", "the old man", "she", "he",
                "they", "we", "the model", "this program", "the answer", "every student", "the river", "a bright star"]
    verbs = ["runs to", "looks at", "writes about", "thinks of", "walks past", "reads", "counts", "finds",
             "builds", "opens", "solves", "explains", "remembers", "likes"]
    objects = ["the house", "a green apple", "the long road", "two numbers", "the problem", "an old book",
               "the garden", "every question", "the market", "a simple proof", "the window", "the last page"]
    tails = [".", "!", "?", " today.", " again.", " in the morning.", ", and then it stops.", "; nothing else.",
             " (maybe)."]
    accented = ["café", "naïve", "résumé", "über", "façade", "crème brûlée", "señor", "déjà vu", "São Paulo"]
    lines = []
    for _ in range(3000):
        r = rng.random()
        if r < 0.45:
            s = f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}{rng.choice(tails)}"
            lines.append(s[0].upper() + s[1:] if rng.random() < 0.7 else s)
        elif r < 0.65:
            a, b = rng.randint(0, 99999), rng.randint(0, 999)
            op = rng.choice("+-*/")
            val = {"+": a + b, "-": a - b, "*": a * b, "/": round(a / max(b, 1), 2)}[op]
            lines.append(rng.choice([f"What is {a} {op} {b}?", f"{a} {op} {b} = {val}",
                                     f"Step {rng.randint(1, 9)}: compute {a} {op} {b} = {val}.",
                                     f"The answer is {val}."]))
        elif r < 0.75:
            lines.append(rng.choice(subjects) + "  " + rng.choice(verbs) + "   " + rng.choice(objects)
                         + rng.choice(["", " ", "  "]))
        elif r < 0.83:
            lines.append("\t".join(rng.sample(objects, 3)))
        elif r < 0.9:
            lines.append(f"{rng.choice(subjects)} {rng.choice(['ate', 'saw', 'loved'])} the {rng.choice(accented)}.")
        else:
            lines.append(f"def f(x):\n    return x * {rng.randint(2, 9)}")
    return "\n".join(lines) + "\n"


def train(work):
    path = os.path.join(work, "train.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(training_text())
    prefix = os.path.join(work, "spm")
    spm.SentencePieceTrainer.train(
        input=path, model_prefix=prefix, model_type="bpe", vocab_size=VOCAB_SIZE,
        byte_fallback=True, split_digits=True, add_dummy_prefix=True, normalization_rule_name="identity",
        remove_extra_whitespaces=False, allow_whitespace_only_pieces=True, character_coverage=1.0,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, unk_piece="<unk>", bos_piece="<s>", eos_piece="</s>",
        num_threads=1, input_sentence_size=0, shuffle_input_sentence=False, max_sentence_length=4192,
        minloglevel=2)
    return prefix + ".model"


# ---------------------------------------------------------------- Hugging Face conversion
class _Extractor:
    """transformers-4 extractor signature, which `SpmConverter.tokenizer` still calls."""

    def __init__(self, model_file):
        self.sp = spm.SentencePieceProcessor(model_file=model_file)

    def extract(self, vocab_scores=None):
        vocab = {self.sp.id_to_piece(i): i for i in range(self.sp.get_piece_size())}
        return vocab, generate_merges(vocab, vocab_scores)


class _LlamaConverter(LlamaConverter):
    SpmExtractor = _Extractor


def hf_convert(model_file, legacy, work):
    slow = SentencePieceBackend(vocab_file=model_file, legacy=legacy,
                                unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    backend = _LlamaConverter(slow).converted()
    fast = LlamaTokenizer(tokenizer_object=backend, legacy=legacy, add_bos_token=True, add_eos_token=False,
                          unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    out = os.path.join(work, "legacy" if legacy else "metaspace")
    fast.save_pretrained(out)
    with open(os.path.join(out, "tokenizer.json"), encoding="utf-8") as f:
        tok_json = f.read()
    cfg_path = os.path.join(out, "tokenizer_config.json")
    cfg = open(cfg_path, encoding="utf-8").read() if os.path.exists(cfg_path) else None
    return tok_json, cfg


def describe(name, tok_json):
    j = json.loads(tok_json)
    print(f"--- {name}")
    for k in ("normalizer", "pre_tokenizer", "decoder", "post_processor"):
        print(f"{k}: {json.dumps(j[k], ensure_ascii=False)}")
    m = j["model"]
    print("model:", {k: m[k] for k in ("type", "byte_fallback", "fuse_unk", "unk_token", "ignore_merges")},
          len(m["vocab"]), "vocab,", len(m["merges"]), "merges")
    print("added_tokens:", json.dumps(j["added_tokens"]))


# ---------------------------------------------------------------- GGUF
def write_gguf(sp, path):
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("spm-fixture")
    w.add_context_length(4096)
    w.add_embedding_length(8)
    w.add_block_count(1)
    w.add_feed_forward_length(16)
    w.add_head_count(1)
    w.add_head_count_kv(1)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(sp.get_piece_size())
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i).encode("utf-8"))
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            types.append(gguf.TokenType.UNKNOWN)
        elif sp.is_control(i):
            types.append(gguf.TokenType.CONTROL)
        elif sp.is_unused(i):
            types.append(gguf.TokenType.UNUSED)
        elif sp.is_byte(i):
            types.append(gguf.TokenType.BYTE)
        else:
            types.append(gguf.TokenType.NORMAL)
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ---------------------------------------------------------------- cases
PARAGRAPH = (
    "On the first morning of the trial, the team wrote down every number they could find: 4821 apples, "
    "37 crates, and a total of 178377 pieces of fruit.  Nobody believed the count, so they did it again.\n\n"
    "The second time, the old man walked past the market and explained that the crates were stacked "
    "two deep; the answer, he said, was simply twice as large.\tThey laughed, opened an old book, and "
    "started over.\n\nStep 1: count the crates.\nStep 2: multiply by 4821.\nStep 3: check the result "
    "against the last page of the book, then stop for the day. Is 178377 * 2 = 356754? Yes, it is."
)

HAND = [
    "", " ", "  ", "   ", "\t", "\n", "\n\n", " \n ", "\r\n",
    "a", "Hello", "Hello world", " Hello", "Hello ", "  Hello  world  ", "   leading", "trailing   ",
    "a  b   c    d", "hello\tworld", "\tindented\t\ttabs", "line one\nline two", "a\n\nb", "end\n", "\n start",
    "Step 1: compute 12 * 7 = 84.\n\nStep 2: add 16 to get 100.\n\nThe answer is 100.",
    "First, a = 3.\n\nThen b = a + 1 = 4.\n\n",
    "4821 * 37 = 178377", "What is 4821 * 37?", "12345678901234567890", "3.14159", "-42", "1,000,000",
    "2024-03-15 10:30", "x^2 + y^2 = z^2",
    "Hello, world! How are you?", "(a + b) / c; x: y", "~!@#$%^&*()_+-=[]{}|;':\",./<>?`", "...", "!!!???",
    "\U0001f600", "I love \U0001f600!", "\u4e2d\u6587", "\u4e2d\u6587 text", "\u00e9", "caf\u00e9",
    "na\u00efve r\u00e9sum\u00e9", "\u00c5ngstr\u00f6m", "e\u0301", "a\u0308o\u0308", "\u00a0", "x\u00a0y",
    "\u00df \u03a9 \u0416", "\u3000", "\u0000", "\u007f",
    "<s>", "</s>", "<unk>", "<s>Hello", "Hi</s>", "a <s> b", "<s> Hello", "<s>\nHello", "Hello</s><s>World",
    "<s><s>", "</s> x", "<unk>x", " <s>", "< s>", "<s", "s>", "<S>", "<0x41>", "<0x0A>",
    "\u2581", "\u2581Hello", "a\u2581b", "\u2581\u2581", " \u2581 ", "\u2581 x",
    "HeLLo WoRLD", "THE QUICK BROWN FOX", "camelCaseWord snake_case_word",
    "def f(x):\n    return x * 2\n",
    "a" * 250, "ab" * 120, "word" * 60, " " * 40, "\n" * 12, "7" * 30,
    PARAGRAPH,
]

ALPHABET = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") + list("0123456789")
            + [" ", "\n", ".", "\u00e9", "\u4e2d", "\U0001f600", "\u2581", "<", ">", "s", "/"])
GROUPS = [ALPHABET[:52], ALPHABET[52:62]] + [[c] for c in ALPHABET[62:]] + [["<s>"], ["</s>"]]


def random_strings(n=30, seed=7):
    """Strings of 1-40 symbols: a group is picked uniformly (letters, digits, then each of
    space, newline, '.', 'é', '中', '😀', '▁', '<', '>', 's', '/'), then a symbol from it; "<s>" and
    "</s>" are two more groups so the special tokens turn up in the mix."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(1, 40)
        out.append("".join(rng.choice(rng.choice(GROUPS)) for _ in range(k)))
    return out


# ---------------------------------------------------------------- llama.cpp
def llama_cpp_detok_c(llm, ids):
    import llama_cpp
    arr = (llama_cpp.llama_token * max(len(ids), 1))(*ids)
    size = 64 + 16 * len(ids)
    buf = ctypes.create_string_buffer(size)
    n = llama_cpp.llama_detokenize(llm._model.vocab, arr, len(ids), buf, size, False, True)
    assert n >= 0, n
    return buf.raw[:n].decode("utf-8", errors="replace")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "../../../Tests/TokenizerTests/Fixtures")
    out_dir = os.path.normpath(out_dir)
    gguf_path = os.path.join(out_dir, "spm-llama.gguf")

    with tempfile.TemporaryDirectory() as work:
        model_file = train(work)
        sp = spm.SentencePieceProcessor(model_file=model_file)
        legacy_json, legacy_cfg = hf_convert(model_file, True, work)
        meta_json, meta_cfg = hf_convert(model_file, False, work)
    describe("hf_legacy", legacy_json)
    describe("hf_metaspace", meta_json)
    write_gguf(sp, gguf_path)

    from llama_cpp import Llama
    llm = Llama(model_path=gguf_path, vocab_only=True, verbose=False)

    # A third form, as tokenizer.json files of other SentencePiece models have it: Metaspace with
    # prepend_scheme "always" and split true, and the Metaspace decoder (edited from hf_metaspace).
    split = json.loads(meta_json)
    split["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    split["decoder"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    split_json = json.dumps(split, ensure_ascii=False)
    toks = {"hf_legacy": Tokenizer.from_str(legacy_json), "hf_metaspace": Tokenizer.from_str(meta_json),
            "hf_metaspace_split": Tokenizer.from_str(split_json)}
    texts = HAND + random_strings()
    assert len(set(texts)) == len(texts), "duplicate case"
    cases = []
    for text in texts:
        case = {"text": text}
        for name, tok in toks.items():
            ids = tok.encode(text, add_special_tokens=True).ids
            case[name] = {
                "ids": ids,
                "ids_plain": tok.encode(text, add_special_tokens=False).ids,
                "decoded": tok.decode(ids, skip_special_tokens=False),
                "decoded_skip": tok.decode(ids, skip_special_tokens=True),
            }
        raw = text.encode("utf-8")
        ids = llm.tokenize(raw, add_bos=True, special=True)
        case["llama_cpp"] = {
            "ids": ids,
            "ids_plain": llm.tokenize(raw, add_bos=False, special=True),
            "decoded": llm.detokenize(ids).decode("utf-8", errors="replace"),
            "decoded_special": llm.detokenize(ids, special=True).decode("utf-8", errors="replace"),
            "detok_c": llama_cpp_detok_c(llm, ids),
        }
        case["sentencepiece"] = sp.encode(text, out_type=int)
        cases.append(case)

    notes = (
        "SentencePiece BPE (vocab 900, byte_fallback, split_digits, add_dummy_prefix, identity normalization, "
        "no extra-whitespace removal; unk/bos/eos 0/1/2) trained by spm_fixtures.py on generated text. "
        "hf_legacy / hf_metaspace: transformers 5.24 LlamaConverter (legacy=True / False) + LlamaTokenizer("
        "add_bos_token=True, add_eos_token=False), read back with tokenizers 0.23.3 Tokenizer.from_str; "
        "ids = encode(add_special_tokens=True), ids_plain = add_special_tokens=False, decoded / decoded_skip = "
        "decode(ids, skip_special_tokens=False / True). "
        "llama_cpp: llama-cpp-python 0.3.36 (libllama 0.5.0-dev) Llama(spm-llama.gguf, vocab_only=True); "
        "ids = tokenize(utf8, add_bos=True, special=True), ids_plain = tokenize(add_bos=False, special=True); "
        "decoded = Llama.detokenize(ids) with its default special=False (control/unknown tokens render as "
        "nothing; the Python wrapper, not llama.cpp, removes one leading space when ids[0] is BOS); "
        "decoded_special = Llama.detokenize(ids, special=True) (control tokens rendered, no space removed "
        "because the text starts with '<s>'); detok_c = C llama_detokenize(ids, remove_special=False, "
        "unparse_special=True), llama.cpp's own decode, which strips the leading space of the first piece "
        "(add_space_prefix). All llama_cpp decodes are UTF-8 with errors='replace'. "
        "sentencepiece = SentencePieceProcessor.encode(text) (no BOS; '<s>' in text is plain text to it), "
        "for information. hf_metaspace_split: hf_metaspace with the pre-tokenizer and the decoder replaced "
        "by Metaspace(prepend_scheme always, split true), read the same way."
    )
    fixture = {
        "vocab_size": sp.get_piece_size(),
        "hf_legacy_tokenizer": legacy_json,
        "hf_legacy_config": legacy_cfg,
        "hf_metaspace_tokenizer": meta_json,
        "hf_metaspace_config": meta_cfg,
        "hf_metaspace_split_tokenizer": split_json,
        "gguf": "spm-llama.gguf",
        "notes": notes,
        "cases": cases,
    }
    path = os.path.join(out_dir, "spm_reference.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(path, os.path.getsize(path), "bytes,", len(cases), "cases")
    print(gguf_path, os.path.getsize(gguf_path), "bytes")

    # Where the forms disagree (sentencepiece gets BOS prepended for the comparison; it reads "<s>" as text).
    def pieces(ids):
        return " ".join(sp.id_to_piece(i) for i in ids)

    differ = 0
    for c in cases:
        forms = {"hf_legacy": c["hf_legacy"]["ids"], "hf_metaspace": c["hf_metaspace"]["ids"],
                 "llama_cpp": c["llama_cpp"]["ids"], "sentencepiece": [1] + c["sentencepiece"]}
        groups = {}
        for name, ids in forms.items():
            groups.setdefault(tuple(ids), []).append(name)
        if len(groups) > 1:
            differ += 1
            print("differ:", repr(c["text"])[:70])
            for ids, names in groups.items():
                print(f"    {'+'.join(names)}: {pieces(ids)[:160]}")
    print(f"{differ} of {len(cases)} cases differ between the forms")
    same = sum(c["hf_legacy"]["ids"] == c["llama_cpp"]["ids"] and c["hf_legacy"]["ids_plain"] == c["llama_cpp"]["ids_plain"]
               for c in cases)
    print(f"hf_legacy and llama_cpp ids (with and without BOS) agree on {same} of {len(cases)} cases")


if __name__ == "__main__":
    main()
