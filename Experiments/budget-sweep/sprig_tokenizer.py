"""Byte-level BPE tokenizer for the multiplication model, built with the
`tokenizers` library: Qwen2-style split regex + ByteLevel, the 256 byte tokens,
two merges ("Ċ Ċ", ". ĊĊ") so that ".\\n\\n" is a single token, and the ChatML /
think special tokens."""
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def byte_alphabet():
    """GPT-2 byte -> printable unicode map, in byte order."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, (chr(c) for c in cs)))
    return [table[b] for b in range(256)]


def build():
    alphabet = byte_alphabet()
    vocab = {ch: i for i, ch in enumerate(alphabet)}  # id = byte value
    nl, dot = alphabet[ord("\n")], alphabet[ord(".")]
    merges = [(nl, nl), (dot, nl + nl)]
    vocab[nl + nl] = 256
    vocab[dot + nl + nl] = 257
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(SPECIAL)  # ids 258..262
    return tok


def hf_tokenizer(tok):
    from transformers import PreTrainedTokenizerFast
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
        additional_special_tokens=["<|im_start|>", "<think>", "</think>"],
        chat_template=CHAT_TEMPLATE,
        model_max_length=512,
        clean_up_tokenization_spaces=False,
    )


if __name__ == "__main__":
    t = build()
    print("vocab", t.get_vocab_size())
    for s in [".\n\n", "<think>\n4821 r6, 37 r1.\n\n4821*7=33747 r6.\n\n</think>\n178377<|im_end|>", "Hé ünï 12.\n\n\n"]:
        e = t.encode(s)
        print(e.ids, e.tokens, repr(t.decode(e.ids, skip_special_tokens=False)) == repr(s))
