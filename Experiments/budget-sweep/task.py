"""Long multiplication written as checkable steps: generator, solution writer,
answer extractor, exact checker and the fixed JSONL splits.

Solution for a * b (b has k digits d_0 = units, d_1, ...), e.g. 4821 * 37:

    <think>
    4821*7=0000033747.

    4821*30=0000144630.

    0000033747+0000144630=0000178377.

    </think>
    178377

One partial product per digit of b (units first, shifted by its trailing zeros),
and after every partial product from the second on, the running sum: k digits of
b give 2k - 1 steps. Each step is checkable on its own (one product by a single
digit, or one addition), and an error in any step carries into the answer.

Every computed number is written zero-padded to WIDTH digits. Why: the digit a
step computes then sits at a fixed distance from the digits it depends on (in
"x+y=z", z's j-th digit is 11 and 22 places after y's and x's; in "a*d0..0=p",
p's j-th digit is 13 places after the digit of a it multiplies, whatever the
lengths), so a small model with relative positions (RoPE) can learn the step
as a local rule; the carry still has to be looked ahead, which is where it errs.
(Session 1 wrote unpadded numbers: its 0.8M policy reached 16 % greedy on 4x2
digits in 33 min. A first version also carried mod-9 residues; dropped.)

Usage: python3 task.py --out ../../Data   (writes mult-eval-{easy,medium,hard}.jsonl)
"""
import argparse
import json
import os
import random
import re

PROMPT_TEMPLATE = "<|im_start|>user\nWhat is {a} * {b}?<|im_end|>\n<|im_start|>assistant\n"
STEP = ".\n\n"
EOS = "<|im_end|>"

# (digits of a range, digits of b range), inclusive.
LEVELS = {
    "single": ((1, 5), (1, 1)),   # 1 step: the digit rule alone (curriculum start; no eval file)
    "easy": ((3, 4), (2, 2)),     # 3 steps
    "medium": ((3, 4), (3, 3)),   # 5 steps
    "hard": ((4, 5), (3, 4)),     # 5-7 steps
}
EVAL_LEVELS = ("easy", "medium", "hard")  # the committed Data/mult-eval-*.jsonl
WIDTH = 10           # digits of every computed number (products up to 10 digits)
ANSWER_WIDTH = 0     # the answer after </think>: 0 = bare; WIDTH = padded like the steps
EVAL_SEED = 20250501
EVAL_SIZE = 100


def rand_digits(rng, nd):
    return rng.randint(10 ** (nd - 1), 10 ** nd - 1)


def sample_problem(rng, level):
    (a_lo, a_hi), (b_lo, b_hi) = LEVELS[level]
    a = rand_digits(rng, rng.randint(a_lo, a_hi))
    b = rand_digits(rng, rng.randint(b_lo, b_hi))
    return a, b


def solution_steps(a, b):
    """The list of step strings (without the trailing '.\\n\\n')."""
    steps = []
    running = None
    for i, ch in enumerate(reversed(str(b))):
        d = int(ch) * 10 ** i
        p = a * d
        steps.append(f"{a}*{d}={p:0{WIDTH}d}")
        if running is None:
            running = p
        else:
            s = running + p
            steps.append(f"{running:0{WIDTH}d}+{p:0{WIDTH}d}={s:0{WIDTH}d}")
            running = s
    assert running == a * b
    return steps


def solution(a, b):
    """The completion after the prompt, without EOS: '<think>\\n' ... '</think>\\n' answer."""
    body = "".join(s + STEP for s in solution_steps(a, b))
    return f"<think>\n{body}</think>\n{a * b:0{ANSWER_WIDTH}d}"


def question(a, b):
    return f"What is {a} * {b}?"


def prompt(a, b):
    return PROMPT_TEMPLATE.format(a=a, b=b)


_ANSWER_RE = re.compile(r"^\s*(-?\d+)")


def extract_answer(completion):
    """Integer after the last '</think>' (leading digits only), or None."""
    if "</think>" not in completion:
        return None
    tail = completion.rsplit("</think>", 1)[1]
    tail = tail.split(EOS, 1)[0]
    m = _ANSWER_RE.match(tail)
    return int(m.group(1)) if m else None


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
