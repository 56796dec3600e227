"""What every data source is, and how a data file is checked and recognised (shared by all kinds).

Kept apart from the sources themselves so that each kind (sources.py, sqlite_source.py) builds on
it and ``open_source``, which knows them all, imports them without a cycle.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import InvalidRequest
from .readers import Piece

KINDS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".md": "md",
    ".markdown": "md",
    ".txt": "txt",
    ".text": "txt",
    ".pdf": "pdf",
    ".db": "sqlite",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".db3": "sqlite",
}
SUPPORTED = "csv, tsv, json, jsonl, md, txt, pdf and SQLite (.db, .sqlite)"
SQLITE_MAGIC = b"SQLite format 3\x00"
PDF_MAGIC = b"%PDF-"


class Source:
    """Something that yields labelled pieces. ``headers`` maps a group to its header line (table columns)."""

    name: str

    def __init__(self, name: str) -> None:
        self.name = name
        self.headers: dict[str, str] = {}

    def pieces(self) -> Iterator[Piece]:
        raise NotImplementedError

    def progress(self) -> tuple[int, int]:
        """(done, total) in this source's own unit (bytes, pages); (0, 0) when unknown."""
        return (0, 0)


def sniff(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(8192)


def detect_kind(path: Path) -> str:
    """The kind of a data file, from its extension (or its first bytes when it has none)."""
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        head = sniff(path)
        if head.startswith(SQLITE_MAGIC):
            return "sqlite"
        if head.startswith(PDF_MAGIC):
            return "pdf"
        shown = path.suffix or "(no extension)"
        raise InvalidRequest(f"{path}: unsupported data type {shown}; supported: {SUPPORTED}")
    return kind


def check_file(path: str | os.PathLike[str]) -> Path:
    """A readable, non-empty regular file, or one clear error."""
    p = Path(path).expanduser()
    if not p.exists():
        raise InvalidRequest(f"data file {p} does not exist")
    if p.is_dir():
        raise InvalidRequest(f"{p} is a directory; pass the files in it (or add it to a knowledge base)")
    if not os.access(p, os.R_OK):
        raise InvalidRequest(f"data file {p} is not readable (permission denied)")
    if p.stat().st_size == 0:
        raise InvalidRequest(f"data file {p} is empty")
    return p
