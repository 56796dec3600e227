"""The frozen evaluation set is the one whose SHA-256 the README publishes, and it is well formed."""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FROZEN = ROOT / "tests" / "data" / "semantic_frozen_v1.tsv"
KINDS = {"antonym", "polarity", "entity", "number", "date", "scope", "role", "modality", "unit", "language"}


def test_frozen_set_matches_the_published_hash() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if "semantic_frozen_v1.tsv" in line and "|" in line)
    published = re.findall(r"`([0-9a-f]{64})`", row)
    assert published == [hashlib.sha256(FROZEN.read_bytes()).hexdigest()]


def test_frozen_set_has_every_kind_of_near_miss() -> None:
    with open(FROZEN, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    kinds = Counter(r["category"] for r in rows if r["label"] == "0")
    assert set(kinds) == KINDS
    assert sum(kinds.values()) >= 300
    assert sum(1 for r in rows if r["label"] == "1") >= 200
    assert len({(r["a"], r["b"]) for r in rows}) == len(rows)
