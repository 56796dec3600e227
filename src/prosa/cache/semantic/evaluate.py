"""Measure a semantic policy on labelled question pairs: precision (with its 95% lower bound) and recall.

The pairs file is tab-separated with a header: ``label  category  a  b`` (label 1: one answer
serves both questions; 0: it must not). Use it to check the defaults, or to calibrate a threshold
for another embedder:

    python -m prosa.cache.semantic.evaluate tests/data/semantic_frozen_v1.tsv [--embedder openai]

Each row of the table is one setting: the similarity threshold, and either the guards alone
(``verify=False``) or the verifier at one strictness. A pair is a hit when its similarity reaches
the threshold and, with the guards, no guard vetoes it, or, with the verifier, the pair model's
probability reaches the strictness's bar.
"""

from __future__ import annotations

import argparse
import csv
import math
from collections import Counter
from pathlib import Path
from typing import Any

from ..._record import Record
from .embed import load_embedder
from .guards import veto
from .policy import DEFAULT_THRESHOLD, VERIFIED_THRESHOLD
from .verify import STRICTNESS, refused


class Pair(Record):
    """One labelled pair, with what the policy made of it."""

    __slots__ = ("label", "category", "a", "b", "similarity", "vetoed_by", "score")

    def __init__(self, label: int, category: str, a: str, b: str) -> None:
        self.label, self.category, self.a, self.b = label, category, a, b
        self.similarity = 0.0
        self.vetoed_by: str | None = None
        self.score = 1.0  # the verifier's score


def read_pairs(path: Path | str) -> list[Pair]:
    with open(path, encoding="utf-8", newline="") as f:
        return [
            Pair(int(r["label"]), r["category"], r["a"], r["b"]) for r in csv.DictReader(f, delimiter="\t")
        ]


def unseen(pairs: list[Pair], earlier: list[Path | str]) -> list[Pair]:
    """The pairs that no earlier set holds (either order, ignoring case): what is still held out."""

    def key(a: str, b: str) -> frozenset[str]:
        return frozenset((a.strip().casefold(), b.strip().casefold()))

    seen = {key(p.a, p.b) for path in earlier for p in read_pairs(path)}
    return [p for p in pairs if key(p.a, p.b) not in seen]


def score(pairs: list[Pair], embedder: Any = "minilm", verify: bool = True) -> list[Pair]:
    """Fill in each pair's cosine similarity, the guard that vetoes it (if any) and the verifier's
    score (0 for a pair the verifier refuses unread, as :class:`.verify.Verifier` does)."""
    model = load_embedder(embedder)
    texts = sorted({p.a for p in pairs} | {p.b for p in pairs})
    vectors = model.embed(texts)
    row = {t: i for i, t in enumerate(texts)}
    for p in pairs:
        p.similarity = float(vectors[row[p.a]] @ vectors[row[p.b]])
        p.vetoed_by = veto(p.a, p.b)
    if verify:
        from .pairs import PairModel

        pair_model = PairModel(load_embedder("minilm").model)
        for start in range(0, len(pairs), 32):
            some = pairs[start : start + 32]
            for p, s in zip(some, pair_model.scores([(p.a, p.b) for p in some]), strict=True):
                p.score = 0.0 if refused(p.a, p.b) else round(float(s), 4)
    return pairs


def hits(pairs: list[Pair], threshold: float, guards: bool = True, bar: float | None = None) -> list[Pair]:
    """The pairs served as one: similar enough, not vetoed (with ``guards``), and verified when
    ``bar`` is set."""
    return [
        p
        for p in pairs
        if p.similarity >= threshold and not (guards and p.vetoed_by) and (bar is None or p.score >= bar)
    ]


def precision_recall(
    pairs: list[Pair], threshold: float, guards: bool = True, bar: float | None = None
) -> tuple[float, float, int, int]:
    """(precision, recall, true hits, false hits) of serving b's answer for a."""
    hit = hits(pairs, threshold, guards, bar)
    true = sum(1 for p in hit if p.label == 1)
    false = len(hit) - true
    positives = sum(1 for p in pairs if p.label == 1)
    return (true / len(hit) if hit else 1.0), (true / positives if positives else 0.0), true, false


def lower_bound(successes: int, trials: int, confidence: float = 0.95) -> float:
    """The one-sided Clopper-Pearson lower bound of a proportion (0 hits: 0; all right: (1-c)^(1/n))."""
    if successes <= 0 or trials <= 0:
        return 0.0
    alpha = 1.0 - confidence
    if successes == trials:
        return float(alpha ** (1.0 / trials))

    def tail(p: float) -> float:  # P(X >= successes) for X ~ Binomial(trials, p)
        total = 0.0
        for i in range(successes, trials + 1):
            log = math.lgamma(trials + 1) - math.lgamma(i + 1) - math.lgamma(trials - i + 1)
            total += math.exp(log + i * math.log(p) + (trials - i) * math.log1p(-p))
        return total

    lo, hi = 0.0, successes / trials
    for _ in range(60):
        mid = (lo + hi) / 2
        if tail(mid) < alpha:
            lo = mid
        else:
            hi = mid
    return lo


SETTINGS: list[tuple[str, bool, float | None]] = [
    ("guards only (verify=False)", True, None),
    *[(f"verifier, {name}", False, bar) for name, bar in STRICTNESS.items()],
]


def table(pairs: list[Pair], thresholds: list[float]) -> str:
    """Precision, its 95% lower bound, recall and false hits for each threshold and setting."""
    head = (
        f"{'threshold':>9}  {'setting':<34} {'precision':>9} {'95% low':>7} {'recall':>6} {'false hits':>10}"
    )
    lines = [head]
    for t in thresholds:
        for name, guards, bar in SETTINGS:
            p, r, true, false = precision_recall(pairs, t, guards, bar)
            low = lower_bound(true, true + false)
            lines.append(f"{t:9.2f}  {name:<34} {p:9.3f} {low:7.3f} {r:6.3f} {false:10d}")
    return "\n".join(lines)


def by_category(pairs: list[Pair], threshold: float, bar: float | None) -> str:
    """Per category: how many pairs were served (false hits for near-misses, true hits for paraphrases)."""
    served = Counter(p.category for p in hits(pairs, threshold, bar is None, bar))
    total = Counter(p.category for p in pairs)
    return "  ".join(f"{c} {served[c]}/{n}" for c, n in sorted(total.items()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("pairs", type=Path, nargs="+")
    parser.add_argument("--embedder", default="minilm", help="minilm (default), openai or openai:MODEL")
    parser.add_argument("--thresholds", default=f"{VERIFIED_THRESHOLD},0.75,{DEFAULT_THRESHOLD}")
    args = parser.parse_args()
    pairs = score([p for path in args.pairs for p in read_pairs(path)], args.embedder)
    print(table(pairs, [float(t) for t in args.thresholds.split(",")]))


if __name__ == "__main__":
    main()
