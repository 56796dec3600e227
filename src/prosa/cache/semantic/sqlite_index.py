"""Question vectors in the SQLite cache file itself, beside the entries they point at.

Why the same file: one file to copy, back up or delete, and a vector whose entry was evicted or
pruned can be found with one join. The tables are prosa's semantic cache's own (``semantic_*``);
the store's schema and migrations are untouched, so the two evolve apart. Vectors are plain
float32 BLOBs (no extension to load).

Each process keeps the partitions it searched as matrices in memory and, before a search, asks
SQLite one indexed question: has this partition gained rows (max id) or lost any (removal count)?
New rows are read incrementally; a removal elsewhere reloads the partition.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import CacheError
from .index import Match, Partition, VectorIndex

SCHEMA = (
    # AUTOINCREMENT: ids are never reused, so "rows with id > the last one loaded" finds every new row.
    """CREATE TABLE IF NOT EXISTS semantic_vectors (id INTEGER PRIMARY KEY AUTOINCREMENT, partition TEXT NOT NULL,
       key TEXT NOT NULL UNIQUE, question TEXT NOT NULL, vector BLOB NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS semantic_vectors_partition ON semantic_vectors (partition, id)",
    """CREATE TABLE IF NOT EXISTS semantic_partitions (partition TEXT PRIMARY KEY,
       removed INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID""",
)
_STATE = """SELECT (SELECT max(id) FROM semantic_vectors WHERE partition = ?1),
                   (SELECT removed FROM semantic_partitions WHERE partition = ?1)"""
_ROWS = "SELECT id, key, question, vector FROM semantic_vectors WHERE partition = ? AND id > ? ORDER BY id"
_BUMP = """INSERT INTO semantic_partitions (partition, removed) VALUES (?, ?)
           ON CONFLICT (partition) DO UPDATE SET removed = removed + excluded.removed"""
# Vectors whose entry is gone from the store's table (evicted, pruned, cleared by another process).
_ORPHANS = "SELECT key, partition FROM semantic_vectors WHERE key NOT IN (SELECT key FROM entries)"


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
        is not None
    )


class SQLiteVectorIndex(VectorIndex):
    """Vectors in tables of the SQLite cache file at ``path``; safe across threads and processes."""

    def __init__(
        self, path: Path | str, busy_timeout: float = 5.0, max_cached_vectors: int = 200_000
    ) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.max_cached_vectors = max_cached_vectors
        self._lock = threading.RLock()
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._local = threading.local()
        self._cached: OrderedDict[str, Partition] = OrderedDict()  # least recently searched first
        self._cached_vectors = 0
        self._ready = False

    # -- connection --------------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        if os.getpid() != self._pid:
            self._reset()  # a forked child never uses its parent's connections
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            if not self._ready:
                self._setup(conn)
        except sqlite3.Error as exc:
            raise CacheError(
                f"semantic index in {self.path} is unusable ({exc}); semantic hits are off"
            ) from exc
        self._local.conn = conn
        return conn

    def _setup(self, conn: sqlite3.Connection) -> None:
        """Create the tables if needed and drop the vectors of entries gone since the last run."""
        with self._lock:
            if self._ready:
                return
            if not _has_table(conn, "semantic_vectors"):
                self._write(conn, lambda c: [c.execute(sql) for sql in SCHEMA])
            if _has_table(conn, "entries") and conn.execute(_ORPHANS + " LIMIT 1").fetchone():
                # Read again under the write lock: an entry saved meanwhile keeps its vector.
                self._write(conn, lambda c: self._delete(c, c.execute(_ORPHANS).fetchall()))
            self._ready = True

    def _write(self, conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], object]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            work(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _delete(conn: sqlite3.Connection, rows: list[tuple[str, str]]) -> None:
        conn.executemany("DELETE FROM semantic_vectors WHERE key = ?", [(k,) for k, _ in rows])
        counts: dict[str, int] = {}
        for _, partition in rows:
            counts[partition] = counts.get(partition, 0) + 1
        conn.executemany(_BUMP, list(counts.items()))

    # -- the interface -----------------------------------------------------------------------------
    def add(self, partition: str, key: str, question: str, vector: np.ndarray) -> None:
        blob = np.ascontiguousarray(vector, dtype=np.float32).tobytes()

        def work(conn: sqlite3.Connection) -> None:
            old = conn.execute("SELECT key, partition FROM semantic_vectors WHERE key = ?", (key,)).fetchall()
            if old:
                self._delete(conn, old)  # a refreshed answer: its new question replaces the old
                self._deleted(old)
            conn.execute(
                "INSERT INTO semantic_vectors (partition, key, question, vector) VALUES (?, ?, ?, ?)",
                (partition, key, question, blob),
            )

        self._run(lambda conn: self._write(conn, work), "indexing a question")

    def search(self, partition: str, vector: np.ndarray, threshold: float, limit: int) -> list[Match]:
        def work(conn: sqlite3.Connection) -> list[Match]:
            with self._lock:
                part = self._sync(conn, partition, vector.shape[0])
                return part.search(vector, threshold, limit) if part is not None else []

        return self._run(work, "searching")

    def remove(self, key: str) -> None:
        def work(conn: sqlite3.Connection) -> None:
            rows = conn.execute(
                "SELECT key, partition FROM semantic_vectors WHERE key = ?", (key,)
            ).fetchall()
            if rows:
                self._write(conn, lambda c: self._delete(c, rows))
                self._deleted(rows)

        self._run(work, "removing a vector")

    def count(self) -> int:
        return self._run(
            lambda conn: conn.execute("SELECT count(*) FROM semantic_vectors").fetchone()[0], "counting"
        )  # type: ignore[no-any-return]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and os.getpid() == self._pid:
            conn.close()
            self._local.conn = None

    # -- the in-process copy -------------------------------------------------------------------------
    def _sync(self, conn: sqlite3.Connection, partition: str, dim: int) -> Partition | None:
        """The partition's matrix, brought up to date with the file. The caller holds the lock."""
        last_id, removed = conn.execute(_STATE, (partition,)).fetchone()
        removed = removed or 0
        part = self._cached.get(partition)
        if last_id is None:
            self._forget(partition)
            return None
        if part is None or part.removed != removed:
            self._forget(partition)
            part = Partition(dim)
            part.removed = removed
            self._cached[partition] = part
        if last_id > part.last_id:
            before = part.size
            for row_id, key, question, blob in conn.execute(_ROWS, (partition, part.last_id)):
                vec = np.frombuffer(blob, dtype=np.float32)
                if vec.shape[0] == dim:  # a vector of another size cannot be compared: skip it
                    part.add(key, question, vec)
                part.last_id = row_id
            self._cached_vectors += part.size - before
        self._cached.move_to_end(partition)
        while self._cached_vectors > self.max_cached_vectors and len(self._cached) > 1:
            self._forget(next(iter(self._cached)))
        return part

    def _deleted(self, rows: list[tuple[str, str]]) -> None:
        """Mirror our own deletions in memory, so they cost no reload (another process's still do)."""
        with self._lock:
            for key, partition in rows:
                part = self._cached.get(partition)
                if part is not None:
                    part.removed += 1  # the file's count went up by one too
                    if part.remove(key):
                        self._cached_vectors -= 1

    def _forget(self, partition: str) -> None:
        part = self._cached.pop(partition, None)
        if part is not None:
            self._cached_vectors -= part.size

    def _run(self, work: Callable[[sqlite3.Connection], Any], doing: str) -> Any:
        conn = self._conn()
        try:
            return work(conn)
        except sqlite3.Error as exc:
            raise CacheError(f"semantic index in {self.path}: failed while {doing} ({exc})") from exc
