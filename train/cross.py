"""Topic negatives for the pair model: ``python train/cross.py FILE.tsv ... --out cross.tsv``.

A cache of one writer's questions holds many on the same topic that ask different things ("How do I
get the length of an array in Ruby?" / "how to write a for loop in ruby"). Labelled pairs are
paraphrases or minimal near-misses, so a model trained only on them reads "same topic, few shared
words" as a paraphrase: the shipped model served five such answers among v6's 600 questions. This
writes, for a seeded share of each file's questions, its nearest question (bundled MiniLM) from
another pair of the same file, as a label-0 ``topic`` pair, unless the two are linked: the same text
(ignoring case, spacing and closing punctuation), or joined through the file's paraphrase pairs, or
already a pair of that file.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit import read  # noqa: E402

from prosa.cache.semantic.embed import load_embedder  # noqa: E402
from prosa.cache.semantic.pairs import pair_text  # noqa: E402


def topic_pairs(rows: list[tuple[int, str, str, str]], vectors: dict[str, np.ndarray], share: float,
                floor: float, rng: random.Random) -> list[tuple[str, str, float]]:  # fmt: skip
    """(question, nearest unlinked question of another pair, similarity) for ``share`` of the questions."""
    qs = sorted({q for r in rows for q in r[2:]})
    ix = {q: i for i, q in enumerate(qs)}
    parent = list(range(len(qs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for q in qs:  # the same question written twice
        norm = " ".join(pair_text(q).casefold().split())
        parent[find(ix[q])] = find(first.setdefault(norm, ix[q]))
    paired = set()
    for label, _, a, b in rows:
        paired |= {(ix[a], ix[b]), (ix[b], ix[a])}
        if label == 1:
            parent[find(ix[a])] = find(ix[b])
    m = np.stack([vectors[q] for q in qs])
    out, seen = [], set()
    for i in sorted(rng.sample(range(len(qs)), round(share * len(qs)))):
        sims = m @ m[i]
        for j in np.argsort(-sims):
            if j != i and find(j) != find(i) and (i, j) not in paired:
                break
        else:
            continue
        key = (min(i, j), max(i, j))
        if sims[j] >= floor and key not in seen:
            seen.add(key)
            out.append((qs[i], qs[int(j)], float(sims[j])))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--share", type=float, default=0.3, help="the share of each file's questions used")
    ap.add_argument("--floor", type=float, default=0.45, help="the least similarity of a pair written")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    embedder = load_embedder("minilm")
    written = 0
    with open(args.out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["label", "category", "a", "b"])
        for path in args.files:
            rows = read([path])
            qs = sorted({q for r in rows for q in r[2:]})
            vectors = dict(zip(qs, np.asarray(embedder.embed(qs)), strict=True))
            pairs = topic_pairs(rows, vectors, args.share, args.floor, rng)
            w.writerows([0, "topic", a, b] for a, b, _ in pairs)
            written += len(pairs)
            print(f"{path}: {len(pairs)} topic pairs from {len(qs)} questions", file=sys.stderr)
    print(f"wrote {written} pairs to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
