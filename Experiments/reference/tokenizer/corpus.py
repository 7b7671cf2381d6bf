"""The test corpus: hand-picked strings covering the cases where byte-level BPE
tokenizers differ, plus seeded random mixtures of the same ingredients."""
import random

HAND = [
    "", " ", "  ", "\t", "\n", "\r\n", "a", "Hello", "Hello world", " Hello world ",
    "Hello, world! How are you?", "The quick brown fox jumps over the lazy dog.",
    "I'm sure you've seen it, they'll say we'd done it; she's right, it's Tom's.",
    "I'M SURE YOU'VE SEEN IT, THEY'LL SAY WE'D DONE IT; SHE'S RIGHT, IT'S TOM'S.",
    "don'T wOn'T cAn'T y'ALL 'S 'Re 'vE", "I'Mright WE'REady THEY'LLbe HE'Sgone it'Dbe",
    "'sense 'Sense 'tea 'Tea 're'Re'rE 'LLama 'llama '\u017f '\u017fa 'M'm", "l'\u00e9t\u00e9 l'\u0130 'ss",
    "it'\u017fa it'Sa it'sa IT'LLama WE'VEry I'DO x'\u212aa", "rock'n'roll", "a'b'c", "'s's's", "''''", "rock 'n' roll", "it\u2019s curly",
    "trailing spaces   ", "   leading spaces", "a  b   c    d     e", "tabs\tand\t\ttabs\t",
    "line1\nline2\n\nline4\n\n\n", "windows\r\nline\r\n\r\nend\r\n", "mixed \t \n \r\n  x",
    "\n\n\n\n", "          ", " \n \n ", "end with newline\n", "x\u00a0y", "x\u3000y", "x\u2003y",
    "x\u0085y", "x\u200by", "x\ufeffy", "x\u180ey", "x\u2028y\u2029z", "\u00a0\u00a0word",
    "0", "7", "42", "1234567890", "3.14159265358979", "-273.15", "1,000,000", "1e-10",
    "12345678901234567890123456789", "Call 555-0199 at 10:30pm on 2024-03-15.", "v1.2.3-rc4",
    "0x1F600 0b1010 0o777", "\u00bd + \u00bc = \u00be", "x\u00b2 + y\u00b3", "\u2160\u2161\u2162 Roman",
    "\u0661\u0662\u0663 Arabic-Indic", "\u0967\u0968\u0969 Devanagari digits", "\uff11\uff12\uff13 fullwidth",
    "2+2=4", "What is 2+2?", "(3 + 4) * 5 = 35", "x^2 - 5x + 6 = 0", "\u222b_0^1 x dx = 1/2",
    "Step 1: compute 12 * 7 = 84.\n\nStep 2: add 16 to get 100.\n\nStep 3: the answer is 100.",
    "First, note that a = 3.\n\nThen b = a + 1 = 4.\n\nSo a + b = 7.\n\n",
    "So the answer is $\\boxed{42}$.", "\\frac{1}{2} + \\sqrt{x^2 + 1}", "Let $f(x) = x^3 - 3x$.\n\n",
    "\u4f60\u597d\uff0c\u4e16\u754c\uff01", "\u6211\u559c\u6b22\u5403\u82f9\u679c\u548c\u9999\u8549\u3002",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3067\u3059\u3002", "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8\uc785\ub2c8\ub2e4.",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645", "\u0627\u0644\u0639\u0631\u0628\u064a\u0629: \u0661\u0662\u0663",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e", "\u0939\u093f\u0928\u094d\u0926\u0940 \u092e\u0947\u0902 \u0932\u093f\u0916\u093e \u0917\u092f\u093e",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!", "\u0421\u044a\u0435\u0448\u044c \u0436\u0435 \u0435\u0449\u0451 \u044d\u0442\u0438\u0445 \u043c\u044f\u0433\u043a\u0438\u0445 \u0431\u0443\u043b\u043e\u043a",
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e04\u0e23\u0e31\u0e1a", "\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u0e44\u0e21\u0e48\u0e21\u0e35\u0e0a\u0e48\u0e2d\u0e07\u0e27\u0e48\u0e32\u0e07",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd", "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5",
    "Caf\u00e9 na\u00efve r\u00e9sum\u00e9", "Cafe\u0301 nai\u0308ve (decomposed)",
    "\U00020041\u0300 a\U00010102\u0300 (astral + mark)",
    "\u0300\u0f73 \u0f73\u0f73 x\u0f75\u0300y\u0f81 (marks reordered after decomposition)", "\ufeffBOM first",
    "\u1e9b\u0323 \u212b \u2126 \u00c5",
    "\u00df \u1e9e \u017f \u0130 \u0131", "Stra\u00dfe", "\u01c4 \u01c5 \u01c6 titlecase",
    "\U0001f600", "\U0001f600\U0001f601\U0001f602", "I love \U0001f355 and \U0001f37a!",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 family", "\U0001f44d\U0001f3fd \U0001f44b\U0001f3ff \U0001f9d1\U0001f3fb\u200d\U0001f4bb",
    "\U0001f1fa\U0001f1f8\U0001f1ef\U0001f1f5 flags", "\u2764\ufe0f \u2764 \u263a\ufe0f", "\U0001f3f3\ufe0f\u200d\U0001f308",
    "keycap 1\ufe0f\u20e3 #\ufe0f\u20e3", "\U00010348 gothic \U0001d400 bold", "\ue000 private use \U000f0000",
    "def f(x):\n    return x * 2\n", "for i in range(10):\n\tprint(i)\n",
    "#include <stdio.h>\nint main(void) {\n    printf(\"hi\\n\");\n    return 0;\n}\n",
    "fn main() {\n    let v: Vec<u32> = (0..10).collect();\n    println!(\"{:?}\", v);\n}",
    "func add(_ a: Int, _ b: Int) -> Int { a + b }\n", "const x = async () => { await fetch('/api?q=1&r=2'); };",
    "SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name;", "<div class=\"a\">Hi &amp; bye</div>",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}", "x = y ** 2 // 3 % 4 != 5 && z || !w",
    "    indented four\n        indented eight\n", "a\\b\\c /path/to/file.txt C:\\Windows\\System32",
    "https://example.com/path?query=value#frag", "user@example.com", "@mention #hashtag $money 100%",
    "~!@#$%^&*()_+-=[]{}|;':\",./<>?`", "...", "!!!???", "----====", "____init____", "a_b_c",
    "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<think>\nLet me think.\n\n2+2 = 4.\n</think>\n\nThe answer is 4.", "text<think>inner</think>text",
    " <think> spaced </think> ", "<|endoftext|>", "a<|endoftext|>b", "<|im_end|><|im_end|>", "<|im_start|",
    "<tool_call>{\"name\": \"f\"}</tool_call>", "<|fim_prefix|>x<|fim_suffix|>y<|fim_middle|>",
    "<repo_name>sprig<file_sep>main.swift", "<|IM_START|> not special", "<think >", "</think",
    "\u00ff\u00fe\u00fd", "\u0100\u0101 \u0120 \u010a", "\u0000null\u0001ctrl\u001f", "\u007f del",
    "word" * 40, "a" * 300, " " * 100, "\n" * 50, "ab" * 100, "1" * 60, "\U0001f600" * 20,
    "Supercalifragilisticexpialidocious antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis", "CamelCaseIdentifierName snake_case_name kebab-case-name",
    "HTTPServerError XMLHttpRequest iOS macOS", "e.g. i.e. etc. Mr. Dr. U.S.A.",
]

INGREDIENTS = [
    "the", " cat", "Hello", " World", "'s", "'LL", " don't", "42", " 2024", "3.5", "0.001", " ", "  ", "\t",
    "\n", "\n\n", "\r\n", ".\n\n", "!", "?", ",", ";", "(", ")", "[", "]", "{", "}", "<", ">", "\"", "'", "-", "_",
    "+", "=", "*", "/", "\\", "#", "$", "%", "&", "|", "~", "`", "^", "\u4e2d\u6587", "\u6f22\u5b57", "\u3072\u3089\u304c\u306a",
    "\u0627\u0644\u0633\u0644\u0627\u0645", "\u0915\u093f\u0924\u093e\u092c", "\u043a\u043d\u0438\u0433\u0430", "\u0e2b\u0e19\u0e31\u0e07\u0e2a\u0e37\u0e2d",
    "\u00e9", "e\u0301", "\u00f1", "\U0001f600", "\U0001f44d\U0001f3fb", "\U0001f469\u200d\U0001f52c", "\u2764\ufe0f",
    "<think>", "</think>", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "\u00a0", "\u3000", "\u2009", "\u00b2",
    "\u00bd", "\u0663", "x", "Q", "zz", "ing", " print", "()", "=>", "::", "->", "...", "--", "//", "/*", "*/",
]


def random_strings(n=160, seed=1234):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(1, 14)
        out.append("".join(rng.choice(INGREDIENTS) for _ in range(k)))
    return out


def corpus():
    seen, out = set(), []
    for s in HAND + random_strings():
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out
