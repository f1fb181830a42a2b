#!/usr/bin/python3
"""Splits intents/corpus/raw/*.jsonl into train/ and heldout/ (one file per language), once,
before any pattern or model is tuned: per (language, label), a seeded shuffle, then every
fourth line held out. The held-out part is only for reporting (ackbot eval); never tune
patterns, thresholds or the model on it. Usage: intents/corpus/split.py [SEED]"""
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 20261203
    raw = os.path.join(HERE, "raw")
    for d in ("train", "heldout"):
        os.makedirs(os.path.join(HERE, d), exist_ok=True)
    for name in sorted(os.listdir(raw)):
        if not name.endswith(".jsonl"):
            continue
        groups = {}
        with open(os.path.join(raw, name), encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    o = json.loads(line)
                    groups.setdefault(o["label"], []).append(line.rstrip("\n"))
        train, held = [], []
        rng = random.Random(f"{seed}:{name}")
        for label in sorted(groups):
            lines = groups[label]
            rng.shuffle(lines)
            for i, line in enumerate(lines):
                (held if i % 4 == 3 else train).append(line)
        for d, lines in (("train", train), ("heldout", held)):
            with open(os.path.join(HERE, d, name), "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
        print(f"{name}: {len(train)} train, {len(held)} held out")


if __name__ == "__main__":
    main()
