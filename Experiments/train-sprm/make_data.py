"""Arithmetic word problems for `sprig train-sprm` on SmolLM2-135M-Instruct.

Writes train.jsonl / eval.jsonl with {"question", "answer"} lines: 2-digit + 2-digit
additions (no carry from the tens) and 1-digit x 1-digit products, worded as short
stories and asking for a brief explanation ending in "Answer: N" (so the final answer is
easy to extract and the explanation has ".\n\n" step breaks).
Usage: python3 make_data.py [--train 60] [--eval 30] [--seed 0]
"""
import argparse
import json
import random

NAMES = ["Sara", "Tom", "Ana", "Ben", "Lily", "Omar", "Mia", "Jack"]
THINGS = ["apples", "stickers", "marbles", "books", "coins", "shells", "cards", "pens"]
SUFFIX = " Explain your reasoning in two or three short sentences, then write \"Answer:\" followed by the number."


def problem(rng):
    name, thing = rng.choice(NAMES), rng.choice(THINGS)
    if rng.random() < 0.5:
        a, b = rng.randint(10, 59), rng.randint(10, 39)
        q = f"{name} has {a} {thing} and gets {b} more. How many {thing} does {name} have now?"
        return {"question": q + SUFFIX, "answer": str(a + b)}
    a, b = rng.randint(2, 9), rng.randint(2, 9)
    q = f"{name} has {a} boxes with {b} {thing} in each box. How many {thing} does {name} have?"
    return {"question": q + SUFFIX, "answer": str(a * b)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--train", type=int, default=60)
    p.add_argument("--eval", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=".")
    args = p.parse_args()
    rng = random.Random(args.seed)
    for name, n in [("train", args.train), ("eval", args.eval)]:
        with open(f"{args.out}/{name}.jsonl", "w") as f:
            for _ in range(n):
                f.write(json.dumps(problem(rng)) + "\n")


if __name__ == "__main__":
    main()
