"""Data sources: files, SQLite tables and queries, and plain text, read as labelled pieces.

Every source streams its pieces (nothing holds a whole table in memory, except a ``.json`` document,
which must be parsed whole) and turns bad input into one clear :class:`InvalidRequest` line. The base
class and the file checks are in source_base.py, the SQLite source in sqlite_source.py.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidRequest
from .readers import Piece, read_json, read_jsonl, read_pdf, read_table, read_text
from .source_base import PDF_MAGIC, Source, check_file, detect_kind, sniff


class TextSource(Source):
    """Text given directly: ``TextSource("Our office opens at 9.", name="notes")``."""

    def __init__(self, text: str, name: str = "text") -> None:
        super().__init__(name)
        if not isinstance(text, str) or not text.strip():
            raise InvalidRequest(f"data text {name!r} is empty")
        self.text = text

    def pieces(self) -> Iterator[Piece]:
        return read_text(self.name, self.text.splitlines())


class FileSource(Source):
    """A csv, tsv, json, jsonl, md, txt or pdf file. ``name`` is the label stem (default: the file name)."""

    def __init__(
        self, path: str | os.PathLike[str], name: str | None = None, kind: str | None = None
    ) -> None:
        self.path = check_file(path)
        super().__init__(name or self.path.name)
        self.kind = kind or detect_kind(self.path)
        if self.kind == "sqlite":
            raise InvalidRequest(
                f"{self.path} is a SQLite database; use SQLiteSource (or --data with --table/--sql)"
            )
        self.size = self.path.stat().st_size
        self._raw: Any = None
        self._pages = [0, 0]

    def progress(self) -> tuple[int, int]:
        if self.kind == "pdf":
            return self._pages[0], self._pages[1]
        raw = self._raw
        try:
            done = raw.tell() if raw is not None and not raw.closed else 0
        except (OSError, ValueError):
            done = 0
        return min(done, self.size), self.size

    def pieces(self) -> Iterator[Piece]:
        count = 0
        for piece in self._read():
            count += 1
            yield piece
        if count == 0:
            raise InvalidRequest(f"{self.path} has no data (only blank lines or an empty document)")

    def _read(self) -> Iterator[Piece]:
        if self.kind == "pdf":
            if not sniff(self.path).startswith(PDF_MAGIC):
                raise InvalidRequest(f"{self.path} is not a PDF file (it does not start with %PDF-)")
            yield from read_pdf(self.name, str(self.path), self._pages)
            return
        if b"\x00" in sniff(self.path):
            raise InvalidRequest(f"{self.path} looks like a binary file, not {self.kind} text")
        with open(self.path, "rb") as raw:
            self._raw = raw
            # utf-8-sig: a byte-order mark (Excel writes one) is not part of the first column's name.
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            try:
                if self.kind in ("csv", "tsv"):
                    yield from read_table(self.name, self.kind, text, self.headers)
                elif self.kind == "json":
                    yield from read_json(self.name, text)
                elif self.kind == "jsonl":
                    yield from read_jsonl(self.name, text)
                else:
                    yield from read_text(self.name, text, markdown=self.kind == "md")
            except UnicodeDecodeError:
                raise InvalidRequest(f"{self.path} is not UTF-8 text; convert it to UTF-8 first") from None
            finally:
                text.detach()


def open_source(
    item: Any, tables: Sequence[str] = (), sql: Sequence[str] = (), name: str | None = None
) -> Source:
    """A Source from a path (its kind decides the reader) or a Source as it is."""
    if isinstance(item, Source):
        return item
    if not isinstance(item, (str, os.PathLike)):
        raise InvalidRequest(
            f"data items must be file paths or data sources (got {type(item).__name__})", "data"
        )
    path = check_file(item)
    if detect_kind(path) == "sqlite":
        from .sqlite_source import SQLiteSource  # here: only SQLite data needs sqlite3 imported

        return SQLiteSource(path, tables=tables, queries=sql, name=name)
    return FileSource(path, name=name)


def as_sources(data: Any, tables: Sequence[str] = (), sql: Sequence[str] = ()) -> list[Any]:
    """The ``data=`` argument as a list of sources (knowledge bases pass through as they are).

    A path is labelled by its file name, or by the path as given when two files share a name.
    ``tables``/``sql`` apply to every SQLite file given as a path.
    """
    items = [data] if isinstance(data, (str, os.PathLike, Source)) or hasattr(data, "search") else list(data)
    paths = [str(i) for i in items if isinstance(i, (str, os.PathLike))]
    names = [Path(p).name for p in paths]
    out: list[Any] = []
    for item in items:
        if hasattr(item, "search") and not isinstance(item, Source):  # a KnowledgeBase
            out.append(item)
            continue
        name = None
        if isinstance(item, (str, os.PathLike)):
            base = Path(item).name
            name = base if names.count(base) == 1 else str(item)
        out.append(open_source(item, tables, sql, name))
    if tables or sql:
        from .sqlite_source import SQLiteSource

        if not any(isinstance(s, SQLiteSource) for s in out):
            raise InvalidRequest("--table and --sql need a SQLite database among the data (--data shop.db)")
    return out
