"""The frozen evaluation sets are the ones whose SHA-256 the README publishes, and they are well formed."""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
FROZEN = (
    "semantic_frozen_v1.tsv",
    "semantic_frozen_v2.tsv",
    "semantic_frozen_v3.tsv",
    "semantic_frozen_v4.tsv",
    "semantic_frozen_v5.tsv",
    "semantic_frozen_v6.tsv",
    "semantic_frozen_v7.tsv",
    "semantic_frozen_v8.tsv",
    "semantic_frozen_v9.tsv",
    "semantic_frozen_v10.tsv",
    "semantic_frozen_v11.tsv",
    "semantic_frozen_v12.tsv",
    "semantic_frozen_v13.tsv",
    "semantic_frozen_v14.tsv",
    "semantic_frozen_v15.tsv",
    "semantic_frozen_v16.tsv",
    "semantic_frozen_v17.tsv",
    "semantic_frozen_v18.tsv",
    "semantic_frozen_v19.tsv",
    "semantic_frozen_v20.tsv",
    "semantic_frozen_v21.tsv",
    "semantic_frozen_v22.tsv",
    "semantic_frozen_v23.tsv",
    "semantic_frozen_v24.tsv",
    "semantic_frozen_v25.tsv",
    "semantic_frozen_v26.tsv",
    "semantic_frozen_v27.tsv",
    "semantic_frozen_v28.tsv",
    "semantic_frozen_v29.tsv",
    "semantic_frozen_v30.tsv",
    "semantic_frozen_v31.tsv",
    "semantic_frozen_v32.tsv",
)
DEV = (
    "semantic_pairs.tsv",
    "semantic_pairs.holdout.tsv",
    "semantic_pairs.dev2.tsv",
    "semantic_pairs.dev3.tsv",
)
KINDS = {"antonym", "polarity", "entity", "number", "date", "scope", "role", "modality", "unit", "language"}


@pytest.mark.parametrize("name", FROZEN)
def test_frozen_set_matches_the_published_hash(name: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith(f"| `tests/data/{name}`"))
    published = re.findall(r"`([0-9a-f]{64})`", row)
    assert published == [hashlib.sha256((DATA / name).read_bytes()).hexdigest()]


@pytest.mark.parametrize("name", FROZEN)
def test_frozen_set_has_every_kind_of_near_miss(name: str) -> None:
    with open(DATA / name, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    kinds = Counter(r["category"] for r in rows if r["label"] == "0")
    assert set(kinds) == KINDS
    assert sum(kinds.values()) >= 300
    assert sum(1 for r in rows if r["label"] == "1") >= 200
    assert len({(r["a"], r["b"]) for r in rows}) == len(rows)


def _pairs(name: str) -> set[frozenset[str]]:
    """A set's pairs as evaluate.unseen compares them: either order, ignoring case and outer spaces."""
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return {
            frozenset((r["a"].strip().casefold(), r["b"].strip().casefold()))
            for r in csv.DictReader(f, delimiter="\t")
        }


def test_frozen_sets_v1_and_v2_share_no_pair() -> None:
    assert not _pairs(FROZEN[0]) & _pairs(FROZEN[1])


def _assert_unseen_subset_is_full(name: str, earlier: list[str]) -> None:
    """A blind set repeats a few earlier pairs by chance; those are scored apart (not held out), and
    what remains must hold none of them and still be a full-sized test set."""
    from prosa.cache.semantic.evaluate import read_pairs, unseen

    kept = unseen(read_pairs(DATA / name), [DATA / n for n in earlier])
    keys = {frozenset((p.a.strip().casefold(), p.b.strip().casefold())) for p in kept}
    for other in earlier:
        assert not keys & _pairs(other), other
    assert sum(p.label for p in kept) >= 200 and sum(not p.label for p in kept) >= 300


def test_v3_unseen_subset_leaves_out_every_pair_of_an_earlier_set() -> None:
    _assert_unseen_subset_is_full(FROZEN[2], [*FROZEN[:2], *DEV])


def test_v4_shares_no_pair_with_any_set_written_before_it() -> None:
    v4 = _pairs(FROZEN[3])
    for name in (*FROZEN[:3], *DEV):
        assert not v4 & _pairs(name), name


def test_v5_shares_no_pair_with_any_set_written_before_it() -> None:
    v5 = _pairs(FROZEN[4])
    for path in sorted(DATA.glob("semantic_*.tsv")):
        if path.name not in FROZEN[4:]:
            assert not v5 & _pairs(path.name), path.name


@pytest.mark.parametrize("index", range(5, 26))
def test_v6_to_v26_unseen_subsets_are_full_test_sets(index: int) -> None:
    # Each written blind, so a few of its pairs repeat earlier sets' by chance: those are scored apart.
    # v6's writer was briefed like the training writers; v7-v26's writers (two each, each set after
    # the previous one's first run) shared no example with them.
    earlier = [p.name for p in sorted(DATA.glob("semantic_*.tsv")) if p.name != FROZEN[index]]
    _assert_unseen_subset_is_full(FROZEN[index], earlier)
