"""Near-misses in other words, from labels already written (round M; tried, not shipped).

``python train/transitive.py OUT.tsv FILE.tsv [FILE.tsv ...]``

Written near-misses are minimal edits and written paraphrases are restyled, so a model can learn
"other words, same question". Within one file, if x and x' are paraphrases and x and y a near-miss,
then x' and y are a near-miss too, in other words ("will opening a new card damage my credit" /
"Does closing an old credit card hurt your credit score?"). Each near-miss gives at most one such
pair (seeded), never a pair the file links as paraphrases; the category is ``transitive:<kind>``.
"""

from __future__ import annotations

import csv
import random
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from prosa.cache.semantic.pairs import question_key  # noqa: E402


def transitive(
    rows: list[dict[str, str]], rng: random.Random, seen: set[frozenset[str]]
) -> list[tuple[str, str, str]]:
    """(kind, a, b) for each near-miss of ``rows`` that can be restated in another's words and is
    not in ``seen`` (which it extends)."""
    links: defaultdict[str, set[str]] = defaultdict(set)
    text: dict[str, str] = {}
    for r in rows:
        a, b = question_key(r["a"]), question_key(r["b"])
        text.setdefault(a, r["a"])
        text.setdefault(b, r["b"])
        if r["label"] == "1":
            links[a].add(b)
            links[b].add(a)
    out = []
    for r in rows:
        if r["label"] != "0":
            continue
        x, y = question_key(r["a"]), question_key(r["b"])
        options = [(p, y) for p in sorted(links[x]) if p != y and y not in links[p]]
        options += [(x, q) for q in sorted(links[y]) if q != x and x not in links[q]]
        if not options:
            continue
        p, q = rng.choice(options)
        if frozenset((p, q)) in seen:
            continue
        seen.add(frozenset((p, q)))
        out.append((r["category"], *((text[q], text[p]) if rng.random() < 0.5 else (text[p], text[q]))))
    return out


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rng = random.Random(11)
    seen: set[frozenset[str]] = set()
    written = []
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        for kind, a, b in transitive(rows, rng, seen):
            written.append({"label": "0", "category": f"transitive:{kind}", "a": a, "b": b})
    with open(sys.argv[1], "w", encoding="utf-8", newline="") as f:
        out = csv.DictWriter(f, ["label", "category", "a", "b"], delimiter="\t")
        out.writeheader()
        out.writerows(written)
    print(f"{len(written)} near-misses in other words from {len(sys.argv) - 2} files")


if __name__ == "__main__":
    main()
