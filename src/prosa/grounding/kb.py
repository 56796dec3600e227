"""Knowledge bases: files ingested once into a persistent FTS5 index, searched on every question.

One SQLite file per knowledge base in ``<data dir>/kb/NAME.db``. Each file's pieces occupy one
contiguous rowid range, so replacing a changed file deletes exactly its range; a file whose
content hash is unchanged is skipped. Each file is ingested in its own transaction: a bad file
leaves the files before it added and itself as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .._record import Record
from ..errors import ConfigError, InvalidRequest
from .paths import check_name, kb_dir
from .retrieval import MAX_HITS, Hit, create_fts, query_words, search
from .source_base import KINDS, Source, detect_kind
from .sources import open_source

SCHEMA = 1
BATCH = 2000

# progress(file label, done, total, pieces): called every BATCH pieces and at each file's end.
Progress = Callable[[str, int, int, int], None]


class AddResult(Record):
    __slots__ = ("added", "replaced", "unchanged", "pieces", "bytes")

    def __init__(self) -> None:
        self.added: list[str] = []
        self.replaced: list[str] = []
        self.unchanged: list[str] = []
        self.pieces = 0
        self.bytes = 0


class KnowledgeBase:
    """``KnowledgeBase("docs")``: pass it in ``data=`` to answer from its best-matching pieces."""

    def __init__(self, name: str) -> None:
        self.name = check_name(name, "knowledge base")
        self.path = kb_dir() / f"{name}.db"
        self._conn: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"KnowledgeBase({self.name!r})"

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    def connect(self, create: bool = False) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        if not create and not self.exists:
            raise InvalidRequest(
                f"no knowledge base named {self.name!r} (see: prosa kb list; create it with prosa kb add)"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            with conn:
                conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, label TEXT NOT NULL, "
                    "sha256 TEXT NOT NULL, size INTEGER NOT NULL, pieces INTEGER NOT NULL, "
                    "first_rowid INTEGER NOT NULL, last_rowid INTEGER NOT NULL, headers TEXT NOT NULL, "
                    "added REAL NOT NULL)"
                )
                create_fts(conn)
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA),))
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('next_rowid', '1')")
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]
        except sqlite3.Error as e:
            raise ConfigError(
                f"knowledge base {self.path} cannot be opened: {e}; remove it and add the files again"
            ) from None
        if version != str(SCHEMA):
            raise ConfigError(
                f"knowledge base {self.path} has schema {version}; remove it and add the files again"
            )
        self._conn = conn
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- ingest ----------------------------------------------------------------------------------------
    def add(
        self,
        paths: Sequence[str | os.PathLike[str]],
        progress: Progress | None = None,
        tables: Sequence[str] = (),
        sql: Sequence[str] = (),
    ) -> AddResult:
        """Ingest files and directories (recursively; files of unsupported types in them are ignored)."""
        files = expand(paths)
        if not files:
            raise InvalidRequest("no supported files found in " + ", ".join(str(p) for p in paths))
        conn = self.connect(create=True)
        result = AddResult()
        for path, label in files:
            digest, size = file_hash(path)
            row = conn.execute(
                "SELECT sha256, first_rowid, last_rowid FROM files WHERE path = ?", (str(path),)
            ).fetchone()
            if row is not None and row[0] == digest:
                result.unchanged.append(label)
                continue
            source = open_source(path, tables, sql, name=label)
            count = self._ingest(conn, source, str(path), label, digest, size, row, progress)
            (result.replaced if row is not None else result.added).append(label)
            result.pieces += count
            result.bytes += size
        return result

    def _ingest(
        self,
        conn: sqlite3.Connection,
        source: Source,
        path: str,
        label: str,
        digest: str,
        size: int,
        old: tuple[str, int, int] | None,
        progress: Progress | None,
    ) -> int:
        first = int(conn.execute("SELECT value FROM meta WHERE key = 'next_rowid'").fetchone()[0])
        next_id = first

        def rows() -> Iterator[tuple[int, str, str, str]]:
            nonlocal next_id
            for piece in source.pieces():
                yield (next_id, piece.text, piece.label, piece.group)
                next_id += 1
                if progress is not None and (next_id - first) % BATCH == 0:
                    progress(label, *source.progress(), next_id - first)

        try:
            with conn:  # one transaction: the old version stays until the new one is complete
                if old is not None:
                    conn.execute("DELETE FROM chunks WHERE rowid BETWEEN ? AND ?", (old[1], old[2]))
                conn.executemany("INSERT INTO chunks (rowid, text, label, grp) VALUES (?, ?, ?, ?)", rows())
                conn.execute("UPDATE meta SET value = ? WHERE key = 'next_rowid'", (str(next_id),))
                conn.execute(
                    "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        path,
                        label,
                        digest,
                        size,
                        next_id - first,
                        first,
                        next_id - 1,
                        json.dumps(source.headers),
                        time.time(),
                    ),
                )
        except sqlite3.Error as e:
            raise ConfigError(f"knowledge base {self.path}: cannot write: {e}") from None
        if progress is not None:
            done, total = source.progress()
            progress(label, total or done, total, next_id - first)
        return next_id - first

    # -- search ----------------------------------------------------------------------------------------
    def hits(self, words: list[str], origin: int = 0, limit: int = MAX_HITS) -> Iterator[Hit]:
        """Ranked hits for any of the words (see :func:`query_words`), best first, read lazily."""
        conn = self.connect()
        total = conn.execute("SELECT coalesce(sum(pieces), 0) FROM files").fetchone()[0]
        return search(conn, words, origin, total=total, limit=limit)

    def search(self, question: str, limit: int = 10) -> list[Hit]:
        """The ``limit`` pieces that best match a question, best first."""
        words = query_words(question)
        if not words:
            raise InvalidRequest("the query has no searchable words")
        return list(self.hits(words, limit=limit))

    def headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for (text,) in self.connect().execute("SELECT headers FROM files"):
            out.update(json.loads(text))
        return out

    def info(self) -> dict[str, Any]:
        conn = self.connect()
        files, pieces, updated = conn.execute(
            "SELECT count(*), coalesce(sum(pieces), 0), max(added) FROM files"
        ).fetchone()
        size = sum(p.stat().st_size for p in self.path.parent.glob(f"{self.name}.db*") if p.is_file())
        return {
            "name": self.name,
            "files": files,
            "pieces": pieces,
            "bytes": size,
            "updated": updated,
            "path": str(self.path),
        }

    def files(self) -> list[dict[str, Any]]:
        rows = self.connect().execute("SELECT label, path, pieces, size, added FROM files ORDER BY label")
        return [dict(zip(("label", "path", "pieces", "bytes", "added"), r, strict=True)) for r in rows]

    def remove(self) -> None:
        """Delete the knowledge base (its file and SQLite's side files)."""
        if not self.exists:
            raise InvalidRequest(f"no knowledge base named {self.name!r} (see: prosa kb list)")
        self.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


def list_knowledge_bases() -> list[KnowledgeBase]:
    folder = kb_dir()
    return [KnowledgeBase(p.stem) for p in sorted(folder.glob("*.db"))] if folder.is_dir() else []


def file_hash(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def expand(paths: Sequence[str | os.PathLike[str]]) -> list[tuple[Path, str]]:
    """(file, label) pairs: a file given by name is labelled by its name and must be supported; a
    directory's files are labelled by their path inside it, and the unsupported or hidden ones skipped."""
    out: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for given in paths:
        p = Path(given).expanduser()
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p)
                if (
                    f.is_file()
                    and f.suffix.lower() in KINDS
                    and not any(part.startswith(".") for part in rel.parts)
                ):
                    if f.stat().st_size and f.resolve() not in seen:
                        seen.add(f.resolve())
                        out.append((f.resolve(), f"{p.name}/{rel.as_posix()}"))
        else:
            if not p.exists():
                raise InvalidRequest(f"{p} does not exist")
            detect_kind(p)
            if p.resolve() not in seen:
                seen.add(p.resolve())
                out.append((p.resolve(), p.name))
    return out
