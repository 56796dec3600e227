"""The shipped pair model's own confusions, for readers: ``python train/mine.py FILE.tsv ... --out read.tsv``.

``cross.py`` pairs a seeded share of each file's questions with their nearest question of another pair
and labels every one a near-miss, so what the model learns from them is chosen by a rule. This
chooses by the model's mistakes instead (round N, 2026-12-06): for every question of each file, its
nearest unlinked question of another pair (``cross.topic_pairs``, similarity at least 0.45), less
the pairs a training file already holds (``--known``) and any pair with a question of a set no model
may train on (``--exclude``); the pair model (``--model``, the shipped one by default) scores them,
and those it scores at least ``--min`` are written for readers (columns score, file, a, b, cosine),
highest first. Readers judge each ``same`` or ``different`` by hand (``data/read/mined_verdicts.tsv``).

``python train/mine.py --verdicts data/read/mined_verdicts.tsv --out data/mined.tsv`` then writes the
training file: ``same`` as a paraphrase, ``different`` as a ``topic`` near-miss.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

import numpy as np
from cross import topic_pairs
from readings import scored

from prosa.cache.semantic.embed import load_embedder
from prosa.cache.semantic.evaluate import read_pairs
from prosa.cache.semantic.pairs import ADAPTERS, PairModel, question_key


def _write(path: str, header: list[str], rows: list[list]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def training_file(verdicts: str, out: str) -> None:
    with open(verdicts, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    same = sum(r["verdict"] == "same" for r in rows)
    _write(out, ["label", "category", "a", "b"],
           [[1, "paraphrase", r["a"], r["b"]] if r["verdict"] == "same" else [0, "topic", r["a"], r["b"]]
            for r in rows])  # fmt: skip
    print(
        f"wrote {len(rows)} pairs to {out}: {same} paraphrases, {len(rows) - same} near-misses",
        file=sys.stderr,
    )


def mine(
    files: list[str], known: list[str], exclude: list[str], model_path: Path, least: float, out: str
) -> None:
    banned = {question_key(q) for path in exclude for p in read_pairs(path) for q in (p.a, p.b)}
    held = {(p.a, p.b) for path in files + known for p in read_pairs(path)}
    held |= {(b, a) for a, b in held}
    embedder = load_embedder("minilm")
    rng = random.Random(0)  # a share of 1 takes every question: the draw changes nothing
    rows: list[tuple[str, str, str, float]] = []
    for path in files:
        pairs = read_pairs(path)
        qs = sorted({p.a for p in pairs} | {p.b for p in pairs})
        vectors = dict(zip(qs, np.asarray(embedder.embed(qs)), strict=True))
        found = [(Path(path).name, a, b, c) for a, b, c in topic_pairs(pairs, vectors, 1.0, 0.45, rng)
                 if (a, b) not in held and not {question_key(a), question_key(b)} & banned]  # fmt: skip
        rows += found
        print(f"{path}: {len(found)} pairs", file=sys.stderr, flush=True)
    keyed = [(a, b) if a <= b else (b, a) for _, a, b, _ in rows]
    scores = scored(PairModel(embedder.model, model_path), sorted(set(keyed)))  # type: ignore[attr-defined]
    kept = sorted(
        ((scores[k], f, a, b, c) for (f, a, b, c), k in zip(rows, keyed, strict=True)), reverse=True
    )
    kept = [r for r in kept if r[0] >= least]
    _write(
        out, ["score", "file", "a", "b", "cos"], [[f"{s:.4f}", f, a, b, f"{c:.3f}"] for s, f, a, b, c in kept]
    )
    print(f"wrote {len(kept)} of {len(rows)} pairs (score >= {least}) to {out}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", help="training files to mine, each on its own")
    ap.add_argument("--out", required=True)
    ap.add_argument("--known", nargs="*", default=[], help="other training files: their pairs are not mined")
    ap.add_argument(
        "--exclude", nargs="*", default=[], help="sets no model may train on: no question of theirs"
    )
    ap.add_argument("--model", type=Path, default=ADAPTERS)
    ap.add_argument("--min", type=float, default=0.7, help="the least score written for readers")
    ap.add_argument("--verdicts", help="instead: write the training file from readers' verdicts")
    args = ap.parse_args()
    if args.verdicts:
        training_file(args.verdicts, args.out)
    else:
        mine(args.files, args.known, args.exclude, args.model, args.min, args.out)


if __name__ == "__main__":
    main()
