"""Long multiplication written as checkable steps: generator, solution writer,
answer extractor, exact checker and the fixed JSONL splits.

Every number the model reads or writes in its reasoning is written least
significant digit first ("reversed") and zero-padded: A and P and S to WIDTH
digits, B to BWIDTH. The prompt carries the operands in that form after the
plain question (Sprig fills `{a:rev10}` / `{b:rev4}` in the model's
`sprig.json` template), e.g. for 4821 * 37:

    user: What is 4821 * 37?
          1284000000*7300
    <think>
    1284000000*7300=0015300000:7473300000.    A0*B0=C0:P0   P0 = A0 * d, d = B0's first digit

    0000000000+7473300000=7473300000.         S-1+P0=S0

    0128400000*3000=0000210000:0364410000.    A1 = A0 shifted one place, B1 = B0 less its first digit

    7473300000+0364410000=7738710000.         S0+P1=S1

    </think>
    7738710000                           S, reversed: 178377 (Sprig reads it back)

One round (a product step and a sum step) per digit of b: k digits give 2k
steps. Each step is checkable on its own, and an error carries into the answer.

C is the row of carries into each digit of the product (c_0 = 0,
c_{j+1} = (A_j * d + c_j) // 10), written before P.

Why this layout: every round has the same length, so each digit the model
writes depends on at most three digits at a fixed distance back plus d: a carry
on A_j and the previous carry, a product digit on A_j and C_j, a sum digit on
the two addends' digits and the previous digits (its carry is 0 or 1). Least
significant first, the carry comes from digits already written instead of
having to be looked ahead; without the C row the model had to infer each carry
from the previous product digit (a 4-digit function), which it had not learned
after 2,400 steps while copies and sums were done.
Session 2 wrote the numbers most significant digit first: its 0.8M policy
learned the layout and last digits but spent ~9,000 steps on the carries
(hard level greedy 0 %). The only non-local rule is finding B's first digit.

Usage: python3 task.py --out ../../Data   (writes mult-eval-{easy,medium,hard}.jsonl)
"""
import argparse
import json
import os
import random
import re

PROMPT_TEMPLATE = "<|im_start|>user\nWhat is {a} * {b}?\n{a_rev}*{b_rev}<|im_end|>\n<|im_start|>assistant\n"
STEP = ".\n\n"
EOS = "<|im_end|>"

# (digits of a range, digits of b range), inclusive.
LEVELS = {
    "single": ((1, 5), (1, 1)),   # 1 step: the digit rule alone (curriculum start; no eval file)
    "easy": ((3, 4), (2, 2)),     # 3 steps
    "medium": ((3, 4), (3, 3)),   # 5 steps
    "hard": ((4, 5), (3, 4)),     # 5-7 steps
    "hard4": ((4, 5), (4, 4)),    # hard's 4-digit multipliers alone (curriculum weight; no eval file)
}
EVAL_LEVELS = ("easy", "medium", "hard")  # the committed Data/mult-eval-*.jsonl
WIDTH = 10           # digits of A, P and S (products up to 10 digits)
BWIDTH = 4           # digits of B (multipliers up to 4 digits)
EVAL_SEED = 20250501
EVAL_SIZE = 100


def rand_digits(rng, nd):
    return rng.randint(10 ** (nd - 1), 10 ** nd - 1)


def sample_problem(rng, level):
    (a_lo, a_hi), (b_lo, b_hi) = LEVELS[level]
    a = rand_digits(rng, rng.randint(a_lo, a_hi))
    b = rand_digits(rng, rng.randint(b_lo, b_hi))
    return a, b


def rev(n, width):
    """n least significant digit first, zero-padded on the right to `width` digits."""
    s = str(n)[::-1]
    return s + "0" * (width - len(s))


def unrev(s):
    """Inverse of rev: '7738710000' -> 178377."""
    return int(s[::-1])


def carries(A, d):
    """The carry into each digit of A * d, least significant first, WIDTH digits:
    c_0 = 0, c_{j+1} = (A_j * d + c_j) // 10."""
    out, c = [], 0
    for ch in rev(A, WIDTH):
        out.append(str(c))
        c = (int(ch) * d + c) // 10
    return "".join(out)


def solution_steps(a, b):
    """The list of step strings (without the trailing '.\\n\\n'): per digit i of b,
    'A*B=P' (A = a * 10^i, B = b // 10^i, P = A * (B mod 10)) and 'S+P=S'."""
    steps, s = [], 0
    for i in range(len(str(b))):
        A, B = a * 10 ** i, b // 10 ** i
        p = A * (B % 10)
        steps.append(f"{rev(A, WIDTH)}*{rev(B, BWIDTH)}={carries(A, B % 10)}:{rev(p, WIDTH)}")
        steps.append(f"{rev(s, WIDTH)}+{rev(p, WIDTH)}={rev(s + p, WIDTH)}")
        s += p
    assert s == a * b
    return steps


def solution(a, b):
    """The completion after the prompt, without EOS: '<think>\\n' ... '</think>\\n' answer."""
    body = "".join(s + STEP for s in solution_steps(a, b))
    return f"<think>\n{body}</think>\n{rev(a * b, WIDTH)}"


def question(a, b):
    return f"What is {a} * {b}?"


def prompt(a, b):
    return PROMPT_TEMPLATE.format(a=a, b=b, a_rev=rev(a, WIDTH), b_rev=rev(b, BWIDTH))


_ANSWER_RE = re.compile(r"^\s*(\d+)")


def extract_answer(completion):
    """The reversed integer after the last '</think>' (leading digits only), read
    back to its value, or None."""
    if "</think>" not in completion:
        return None
    tail = completion.rsplit("</think>", 1)[1]
    tail = tail.split(EOS, 1)[0]
    m = _ANSWER_RE.match(tail)
    return unrev(m.group(1)) if m else None


def is_correct(completion, answer):
    got = extract_answer(completion)
    return got is not None and got == int(answer)


def make_record(idx, level, a, b):
    return {
        "id": f"{level}-{idx:03d}",
        "level": level,
        "question": question(a, b),
        "a": a,
        "b": b,
        "answer": str(a * b),
        "solution": solution(a, b),
    }


def eval_split(level, n=EVAL_SIZE, seed=EVAL_SEED):
    rng = random.Random(f"{seed}-{level}")
    seen, out = set(), []
    while len(out) < n:
        a, b = sample_problem(rng, level)
        if (a, b) in seen:
            continue
        seen.add((a, b))
        out.append(make_record(len(out), level, a, b))
    return out


def eval_pairs():
    return {(r["a"], r["b"]) for lv in LEVELS for r in eval_split(lv)}


def train_stream(seed, mix, exclude):
    """Infinite stream of (level, a, b) for training, eval problems excluded.
    mix: dict level -> weight."""
    rng = random.Random(seed)
    levels, weights = zip(*mix.items())
    while True:
        level = rng.choices(levels, weights)[0]
        a, b = sample_problem(rng, level)
        if (a, b) in exclude:
            continue
        yield level, a, b


def write_jsonl(path, records):
    with open(path, "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "Data"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for level in EVAL_LEVELS:
        recs = eval_split(level)
        for r in recs:  # self-check: the reference solution passes the checker
            assert is_correct(r["solution"], r["answer"]), r
        write_jsonl(os.path.join(args.out, f"mult-eval-{level}.jsonl"), recs)
        print(level, len(recs), recs[0]["question"], repr(recs[0]["solution"]))


if __name__ == "__main__":
    main()
