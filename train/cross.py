"""Topic negatives for the pair model: ``python train/cross.py FILE.tsv ... --out cross.tsv``.

A cache of one writer's questions holds many on the same topic that ask different things ("How do I
get the length of an array in Ruby?" / "how to write a for loop in ruby"). Labelled pairs are
paraphrases or minimal near-misses, so a model trained only on them reads "same topic, few shared
words" as a paraphrase: F2+F3 (shipped before round H) served five such answers among v6's 600
questions. This writes, for a seeded share of each file's questions, its nearest question (bundled
MiniLM) from another pair of the same file, as a label-0 ``topic`` pair, unless the two are linked:
the same text (ignoring case, spacing and closing punctuation), or joined through the file's
paraphrase pairs, or already a pair of that file. ``--thin 3`` keeps a seeded third of them. The
rule labels them, not a reader, and a few are one question in other words: ``--verdicts`` drops
those that readers judged the same request (``data/read/topic_verdicts.tsv``). ``data/topic.tsv``,
what the shipped model learnt from, is ``--thin 3 --verdicts data/read/topic_verdicts.tsv``.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys

import numpy as np

from prosa.cache.semantic.embed import load_embedder
from prosa.cache.semantic.evaluate import Pair, read_pairs
from prosa.cache.semantic.pairs import question_key


def topic_pairs(pairs: list[Pair], vectors: dict[str, np.ndarray], share: float, floor: float,
                rng: random.Random) -> list[tuple[str, str, float]]:  # fmt: skip
    """(question, nearest unlinked question of another pair, similarity) for ``share`` of the
    questions of ``pairs``, whose vectors are ``vectors``."""
    qs = sorted(vectors)
    ix = {q: i for i, q in enumerate(qs)}
    parent = list(range(len(qs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for q in qs:  # the same question written twice
        parent[find(ix[q])] = find(first.setdefault(question_key(q), ix[q]))
    paired = set()
    for p in pairs:
        paired |= {(ix[p.a], ix[p.b]), (ix[p.b], ix[p.a])}
        if p.label == 1:
            parent[find(ix[p.a])] = find(ix[p.b])
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
    ap.add_argument(
        "--thin", type=int, default=1, help="keep one pair in THIN (a seeded shuffle of them all)"
    )
    ap.add_argument("--thin-seed", type=int, default=1)
    ap.add_argument(
        "--verdicts", help="a TSV of readers' verdicts (verdict, a, b): drop the pairs read as `same`"
    )
    args = ap.parse_args()
    rng = random.Random(args.seed)
    embedder = load_embedder("minilm")
    rows: list[tuple[str, str]] = []
    for path in args.files:
        pairs = read_pairs(path)
        qs = sorted({p.a for p in pairs} | {p.b for p in pairs})
        vectors = dict(zip(qs, np.asarray(embedder.embed(qs)), strict=True))
        topic = topic_pairs(pairs, vectors, args.share, args.floor, rng)
        rows += [(a, b) for a, b, _ in topic]
        print(f"{path}: {len(topic)} topic pairs from {len(qs)} questions", file=sys.stderr)
    if args.thin > 1:  # all topic pairs taught a model to refuse too many paraphrases (round G)
        random.Random(args.thin_seed).shuffle(rows)
        rows = rows[: len(rows) // args.thin]
    if args.verdicts:  # the rule's labels, corrected by readers: a few topic pairs are one question
        with open(args.verdicts, encoding="utf-8", newline="") as f:
            same = {(r["a"], r["b"]) for r in csv.DictReader(f, delimiter="\t") if r["verdict"] == "same"}
        rows = [row for row in rows if row not in same]
    with open(args.out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["label", "category", "a", "b"])
        w.writerows([0, "topic", a, b] for a, b in rows)
    print(f"wrote {len(rows)} pairs to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
