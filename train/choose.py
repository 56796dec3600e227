"""Choose a pair model and its bar on the newest blind sets as well as the validation readings.

``python train/choose.py [--sets 29,30] [--floors 0.5,0.45 | --one-bar] NAME=PAIRS.npz [NAME=PAIRS.npz ...]``

``readings.py`` (rounds H-K) fixes the bar where v1-v5 recall reaches 0.78, but the sets written blind
since v19 are harder than v1-v5: at one bar their recall is 0.07-0.15 lower. This is the rule of rounds L
and M (2026-12-06): the population is

- the frozen sets named by ``--sets`` (v29 and v30 by default: seen, never trained on), as the bench
  scores them: their paraphrases' recall and their near-misses served;
- v1-v5 and the four hard sets: their near-misses served;
- ``readings.py``'s validation readings (plain, filler, cross, hard4);
- a cache-like lookup of each ``--sets`` set (each 'b' against its 'a' questions, the five nearest at
  the 0.55 floor, best first, the first verified served): hits not linked to their question.

The reference is the first model named at 0.9 (what ships). A candidate, a model with one bar (0.5-0.95)
or two bars split by the pair's cosine (0.9 at or above the split, a lower bar below it), passes when
it serves no more labelled near-misses than the reference and at most 15% more readings and unlinked
hits; the pick is the passing candidate with the highest recall on ``--sets`` (ties: the stricter, then
the first named). What ships changes only when the pick's recall is at least 2 points above
the reference's. Run from the repository root with ``PYTHONPATH=src``: a few minutes a model.

``--floors`` judges another family instead (session 12's rule): a lower floor for the candidates
(the least cosine the model reads at all), with the reference's bar at or above 0.55 and a higher one
below it (0.9-0.99); ties go to the higher floor, then the higher bar. The reference stays the first
model at the 0.55 floor and 0.9.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from readings import _Vectors, readings, scored

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import semantic as bench  # noqa: E402

from prosa.cache.semantic.evaluate import read_pairs  # noqa: E402
from prosa.cache.semantic.pairs import PairModel  # noqa: E402
from prosa.cache.semantic.policy import VERIFIED_THRESHOLD  # noqa: E402

BARS = [round(0.5 + 0.05 * i, 2) for i in range(10)]
SPLITS = (0.7, 0.75, 0.8, 0.85)
LOW_BARS = (0.9, 0.95, 0.97, 0.99)  # under 0.55, with --floors
REFERENCE_BAR, MARGIN = 0.9, 1.15
Rule = Callable[[float], float]  # the bar a pair of this cosine needs


class Population:
    """Everything a candidate is judged on, embedded once."""

    def __init__(self, sets: list[int], floor: float = VERIFIED_THRESHOLD) -> None:
        self.floor = floor  # the lowest any candidate reads
        self.embed = _Vectors()
        self.kinds, _ = readings(self.embed)
        newest = {i: bench.frozen_pairs(i - 1) for i in sets}
        labelled = {f"v{i}": bench.frozen_pairs(i - 1) for i in range(1, bench.VALIDATION + 1)}
        labelled |= {name: read_pairs(bench.DATA / name) for name in bench.HARD}
        labelled |= {f"v{i}": pairs for i, pairs in newest.items()}
        self.labelled = [(s, p.label, p.a, p.b) for s, pairs in labelled.items() for p in pairs]
        self.recall = [(f"v{i}", p.a, p.b) for i, pairs in newest.items() for p in pairs if p.label]
        self.lookups = [self._lookups(pairs) for pairs in newest.values()]
        texts = {t for _, a, b in self.kinds for t in (a, b)} | {t for r in self.labelled for t in r[2:]}
        self.embed(sorted(texts))
        pairs = {(a, b) for _, a, b in self.kinds} | {(a, b) for *_, a, b in self.labelled}
        self.cosine = {p: self._cos(*p) for p in pairs}
        self.cosine |= {(a, b): c for links, cands in self.lookups for b, cs in cands.items() for a, c in cs}
        self.todo = sorted(p for p, c in self.cosine.items() if c >= floor)

    def _cos(self, a: str, b: str) -> float:
        return float(self.embed.known[a] @ self.embed.known[b])

    def _lookups(self, pairs: list) -> tuple[dict[str, str], dict[str, list[tuple[str, float]]]]:
        firsts, seconds = sorted({p.a for p in pairs}), sorted({p.b for p in pairs})
        sim = self.embed(seconds) @ self.embed(firsts).T
        cands = {
            b: [(firsts[j], float(sim[i, j])) for j in np.argsort(-sim[i])[:5] if sim[i, j] >= self.floor]
            for i, b in enumerate(seconds)
        }  # fmt: skip
        return bench.paraphrase_groups(pairs), cands

    def scores(self, model: PairModel) -> dict[tuple[str, str], float]:
        return scored(model, self.todo)

    def figures(
        self, scores: dict[tuple[str, str], float], rule: Rule, floor: float = VERIFIED_THRESHOLD
    ) -> dict:
        def served(a: str, b: str) -> bool:
            c = self.cosine.get((a, b), 0.0)
            return c >= floor and scores.get((a, b), 0.0) >= rule(c)

        kinds = Counter(k for k, a, b in self.kinds if served(a, b))
        false = Counter(s for s, label, a, b in self.labelled if not label and served(a, b))
        found = Counter(s for s, a, b in self.recall if served(a, b))
        total = Counter(s for s, _, _ in self.recall)
        unlinked = 0
        for links, cands in self.lookups:
            for b, cs in cands.items():
                hit = next((a for a, c in cs if c >= floor and scores.get((a, b), 0.0) >= rule(c)), None)
                unlinked += hit is not None and hit != b and links[hit] != links[b]
        return {
            "recall": sum(found.values()) / len(self.recall),
            "by_set": {s: round(found[s] / n, 3) for s, n in total.items()},
            "false": sum(false.values()),
            "false_by": dict(false),
            "readings": sum(kinds.values()),
            "kinds": dict(kinds),
            "unlinked": unlinked,
        }


def _bars(lo: float, split: float = float("inf")) -> Rule:
    """The reference's bar at or above ``split``'s cosine, ``lo`` below it (no split: ``lo`` alone)."""
    return lambda c: REFERENCE_BAR if c >= split else lo


def candidates(floors: list[float], split: bool = True) -> list[tuple[str, Rule, float, tuple[float, float]]]:
    """(label, rule, floor, key). Without ``floors``: one bar, then two bars split by cosine; the key
    grows with strictness: a higher low bar, then a lower split (one bar alone is the laxest of its low
    bar). With ``floors``: each floor with a bar of its own under 0.55; the key is (floor, that bar).
    ``split=False``: one bar alone."""
    if floors:
        return [
            (f"floor {f}, {REFERENCE_BAR} at cosine >= {VERIFIED_THRESHOLD}, else {lo}",
             _bars(lo, VERIFIED_THRESHOLD), f, (f, lo))
            for f in floors for lo in LOW_BARS
        ]  # fmt: skip
    out = [(f"bar {b}", _bars(b), VERIFIED_THRESHOLD, (b, -float("inf"))) for b in BARS]
    for at in SPLITS if split else ():
        for lo in BARS[:8]:
            rule = _bars(lo, at)
            out.append((f"{REFERENCE_BAR} at cosine >= {at}, else {lo}", rule, VERIFIED_THRESHOLD, (lo, -at)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="NAME=PAIRS.npz; the first is the reference (what ships)")
    ap.add_argument("--sets", default="29,30", help="the newest frozen sets no candidate trained on")
    ap.add_argument("--floors", default="", help="judge lower floors (e.g. 0.5,0.45) instead of bars")
    ap.add_argument("--one-bar", action="store_true", help="judge one bar alone (no split by cosine)")
    args = ap.parse_args()
    floors = [float(f) for f in args.floors.split(",") if f]
    population = Population([int(s) for s in args.sets.split(",")], min([VERIFIED_THRESHOLD, *floors]))
    print(f"{len(population.todo)} pairs reach the floor ({population.floor})", flush=True)
    rows, reference = [], None
    for order, spec in enumerate(args.models):
        name, path = spec.split("=", 1)
        scores = population.scores(PairModel(population.embed.embedder.model, Path(path)))
        if reference is None:
            reference = population.figures(scores, lambda c: REFERENCE_BAR)
            print(f"reference {name} at {REFERENCE_BAR}: {reference}")
        for label, rule, floor, key in candidates(floors, not args.one_bar):
            f = population.figures(scores, rule, floor)
            ok = (
                f["false"] <= reference["false"]
                and f["readings"] <= MARGIN * reference["readings"]
                and f["unlinked"] <= MARGIN * reference["unlinked"]
            )
            rows.append((ok, f["recall"], *key, -order, f"{name}, {label}"))
            print(f"{name}, {label}: {'pass' if ok else 'fail'} recall {f['recall']:.3f} {f['by_set']}, "
                  f"false {f['false']} {f['false_by']}, readings {f['readings']} {f['kinds']}, "
                  f"unlinked {f['unlinked']}", flush=True)  # fmt: skip
    best = max(r for r in rows if r[0])
    print(f"pick: {best[-1]} (recall {best[1]:.3f}; the reference's {reference['recall']:.3f})")  # type: ignore[index]


if __name__ == "__main__":
    main()
