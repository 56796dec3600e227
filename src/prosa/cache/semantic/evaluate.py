"""Measure a semantic policy on labelled question pairs: precision and recall at each threshold.

The pairs file is tab-separated with a header: ``label  category  a  b`` (label 1: one answer
serves both questions; 0: it must not). Use it to check the default threshold, or to calibrate
one for another embedder:

    python -m prosa.cache.semantic.evaluate tests/data/semantic_pairs.tsv [--embedder openai]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any

from ..._record import Record
from .embed import load_embedder
from .guards import veto


class Pair(Record):
    """One labelled pair, with what the policy made of it."""

    __slots__ = ("label", "category", "a", "b", "similarity", "vetoed_by")

    def __init__(self, label: int, category: str, a: str, b: str) -> None:
        self.label, self.category, self.a, self.b = label, category, a, b
        self.similarity = 0.0
        self.vetoed_by: str | None = None


def read_pairs(path: Path | str) -> list[Pair]:
    with open(path, encoding="utf-8", newline="") as f:
        return [
            Pair(int(r["label"]), r["category"], r["a"], r["b"]) for r in csv.DictReader(f, delimiter="\t")
        ]


def score(pairs: list[Pair], embedder: Any = "minilm") -> list[Pair]:
    """Fill in each pair's cosine similarity and the guard that vetoes it (if any)."""
    model = load_embedder(embedder)
    texts = sorted({p.a for p in pairs} | {p.b for p in pairs})
    vectors = model.embed(texts)
    row = {t: i for i, t in enumerate(texts)}
    for p in pairs:
        p.similarity = float(vectors[row[p.a]] @ vectors[row[p.b]])
        p.vetoed_by = veto(p.a, p.b)
    return pairs


def precision_recall(
    pairs: list[Pair], threshold: float, guards: bool = True
) -> tuple[float, float, int, int]:
    """(precision, recall, true hits, false hits) of serving b's answer for a at ``threshold``."""
    hit = [p for p in pairs if p.similarity >= threshold and not (guards and p.vetoed_by)]
    true = sum(1 for p in hit if p.label == 1)
    false = len(hit) - true
    positives = sum(1 for p in pairs if p.label == 1)
    return (true / len(hit) if hit else 1.0), (true / positives if positives else 0.0), true, false


def table(pairs: list[Pair], thresholds: list[float]) -> str:
    lines = [f"{'threshold':>9}  {'guards':>6}  {'precision':>9}  {'recall':>6}  {'false hits':>10}"]
    for t in thresholds:
        for guards in (False, True):
            p, r, _, fp = precision_recall(pairs, t, guards)
            lines.append(f"{t:9.2f}  {'on' if guards else 'off':>6}  {p:9.3f}  {r:6.3f}  {fp:10d}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("pairs", type=Path)
    parser.add_argument("--embedder", default="minilm", help="minilm (default), openai or openai:MODEL")
    parser.add_argument("--thresholds", default="0.7,0.75,0.8,0.82,0.84,0.86,0.88,0.9,0.92,0.95")
    args = parser.parse_args()
    pairs = score(read_pairs(args.pairs), args.embedder)
    print(table(pairs, [float(t) for t in args.thresholds.split(",")]))


if __name__ == "__main__":
    main()
