"""A store in one SQLite file, shared safely by the threads and processes of one machine.

Design, and why:

- WAL journal, synchronous=NORMAL, and every write in one short ``BEGIN IMMEDIATE`` transaction:
  readers never wait for writers, writers queue on the busy timeout instead of failing at once,
  and a value is replaced by a single upsert, so a crash (even ``kill -9``) leaves old or new,
  never half.
- ``get`` is the hot path and never writes: one connection per thread, one cached statement,
  expiry checked in Python. The access times LRU eviction needs are kept in a dict and written
  in batches with the next put, ``flush``, or once a second / a thousand reads have piled up.
  Counter deltas (``incr``) are batched the same way.
- Triggers keep the entry count and byte total in a one-row table, so the size cap and ``info``
  never sum over the whole table.
- The schema carries a version (``PRAGMA user_version``) and a list of migrations; a file
  written by a newer prosa is refused with a message saying to upgrade.
- After ``os.fork()`` the child opens its own connections and never touches the parent's. Forking
  while another thread is inside a SQLite call can still hang the child on SQLite's internal
  mutexes (true of any SQLite user): fork before starting threads, or use "spawn".
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from prosa.errors import CacheError

from .base import EntryInfo, Store, as_bytes, check_key, expiry
from .sqlite_file import SQLiteFile
from .sqlite_lifecycle import _Closer, _Connection, _live
from .sqlite_schema import (
    _GET,
    _INCR,
    _PUT,
    _READONLY,
    _TOUCH,
    SCHEMA_VERSION,
    _code,
)

__all__ = ["SQLiteStore", "SCHEMA_VERSION"]

log = logging.getLogger(__name__)
_T = TypeVar("_T")

_BATCH_SECONDS = 1.0  # write batched access times and counters at least this often...
_BATCH_TOUCHES = 1000  # ...or once this many reads are waiting
_MANY = 500  # keys per query of get_many (SQLite allows 32,766 parameters; smaller plans stay fast)


class SQLiteStore(SQLiteFile, Store):
    """Keep entries in the SQLite file ``path`` (created, with its directory, if missing).

    ``ttl``: default time to live in seconds (None: never expire). ``max_size_mb``: cap on the
    stored value bytes (MiB; the file itself is somewhat larger); past it, the least recently
    read entries are evicted after each put. ``busy_timeout``: seconds to wait for another
    writer before failing with "locked". ``read_only``: open the file read-only (puts fail).
    ``clock``: returns the unix time; tests pass a fake one.

    A file this process may not write (or in a directory it may not write) is opened read-only
    by itself: gets work, puts raise CacheError. Every other fault is a one-line CacheError too.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        ttl: float | None = None,
        max_size_mb: float | None = None,
        busy_timeout: float = 5.0,
        *,
        read_only: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        expiry(0.0, ttl)  # validates the default ttl now rather than at the first put
        if max_size_mb is not None and not max_size_mb > 0:
            raise ValueError(f"max_size_mb must be a positive number or None, got {max_size_mb!r}")
        self.path = Path(path).expanduser().absolute()
        self.url = f"sqlite://{self.path.as_posix()}"
        self.ttl = ttl
        self.max_bytes = None if max_size_mb is None else int(max_size_mb * 1024 * 1024)
        self.busy_timeout = busy_timeout
        self.read_only = read_only
        self._clock = clock
        self._closed = False
        self._writable = not read_only  # False once the file turned out read-only
        self._reset_process_state()
        _live.add(self)
        self._conn()  # open now: a corrupt, locked or too-new file is reported at once

    def _reset_process_state(self) -> None:
        """Start with no connections and nothing pending (at init, and in a forked child)."""
        self._local = threading.local()
        self._conns: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._setup_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._touches: dict[str, float] = {}  # key -> last read time, not yet written
        self._counts: dict[str, float] = {}  # counter -> delta, not yet written
        self._batch_at = self._clock()

    # -- the hot path ------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        try:
            conn = self._local.conn
        except AttributeError:
            conn = self._conn()
        try:
            row = conn.execute(_GET, (key,)).fetchone()
        except sqlite3.Error as exc:
            raise self._fault(exc, "reading an entry") from exc
        if row is None:
            return None
        now = self._clock()
        if row[1] is not None and row[1] <= now:
            return None  # expired entries are absent; prune deletes them
        touches = self._touches
        touches[key] = now
        if now - self._batch_at > _BATCH_SECONDS or len(touches) > _BATCH_TOUCHES:
            self._flush_soon(now)
        return row[0]  # type: ignore[no-any-return]

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        found: dict[str, Any] = {}
        try:
            conn = self._local.conn
        except AttributeError:
            conn = self._conn()
        try:
            for start in range(0, len(keys), _MANY):
                part = keys[start : start + _MANY]
                sql = f"SELECT key, value, expires FROM entries WHERE key IN ({','.join('?' * len(part))})"
                for key, value, expires in conn.execute(sql, part):
                    found[key] = (value, expires)
        except sqlite3.Error as exc:
            raise self._fault(exc, "reading entries") from exc
        now = self._clock()
        out: list[bytes | None] = []
        touches = self._touches
        for key in keys:
            row = found.get(key)
            if row is None or (row[1] is not None and row[1] <= now):
                out.append(None)
            else:
                touches[key] = now
                out.append(row[0])
        if found and now - self._batch_at > _BATCH_SECONDS:
            self._flush_soon(now)
        return out

    # -- writes --------------------------------------------------------------------------------

    def put_many(self, items: list[tuple[str, bytes]], ttl: float | None = None) -> None:
        for key, _ in items:
            check_key(key)
        now = self._clock()
        expires = expiry(now, self.ttl if ttl is None else ttl)
        rows = [(key, as_bytes(v), len(v), now, now, expires) for key, v in items]

        def store(conn: sqlite3.Connection) -> None:
            conn.executemany(_PUT, rows)
            if self.max_bytes is not None and rows:
                self._evict(conn, keep=rows[-1][0])

        self._write(store, "storing entries")

    def put(self, key: str, value: bytes, ttl: float | None = None, created: float | None = None) -> None:
        check_key(key)
        value = as_bytes(value)
        now = self._clock()
        expires = expiry(now, self.ttl if ttl is None else ttl)

        def store(conn: sqlite3.Connection) -> None:
            born = now if created is None else created
            conn.execute(_PUT, (key, value, len(value), born, now, expires))
            if self.max_bytes is not None:
                self._evict(conn, keep=key)

        self._write(store, "storing an entry")

    def delete(self, key: str) -> bool:
        self._touches.pop(key, None)
        return self._write(
            lambda conn: conn.execute("DELETE FROM entries WHERE key = ?", (key,)).rowcount > 0
        )

    def prune(self, older_than: float) -> int:
        now = self._clock()
        sql = "DELETE FROM entries WHERE created < ? OR expires <= ?"
        return self._write(lambda conn: conn.execute(sql, (older_than, now)).rowcount, "pruning")

    def clear(self) -> int:
        self._touches.clear()
        return self._write(lambda conn: conn.execute("DELETE FROM entries").rowcount, "clearing")

    def incr(self, deltas: dict[str, float]) -> None:
        with self._pending_lock:
            counts = self._counts
            for name, delta in deltas.items():
                counts[name] = counts.get(name, 0) + float(
                    delta
                )  # REAL column: an int past 2**63 would poison every write
        now = self._clock()
        if now - self._batch_at > _BATCH_SECONDS:
            self._flush_soon(now)

    def flush(self) -> None:
        """Write the batched access times and counter deltas (a read-only store keeps them in memory)."""
        if not self._writable:
            self._touches.clear()  # only eviction needs them, and a read-only file never evicts
        elif self._touches or self._counts:
            self._write(lambda conn: None, "saving access times and counters")

    def _flush_soon(self, now: float) -> None:
        """Flush from the hot path: one thread at a time, never waiting for another writer (a hit
        must not stall behind one), and a failure only costs access times."""
        self._batch_at = now
        if not self._flush_lock.acquire(blocking=False):
            return
        try:
            conn = self._conn()
            conn.execute("PRAGMA busy_timeout = 0")
            try:
                self.flush()
            finally:
                conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        except (CacheError, sqlite3.Error) as exc:
            log.debug("cache: batched access times and counters not written yet: %s", exc)
        finally:
            self._flush_lock.release()

    def _write(self, work: Callable[[sqlite3.Connection], _T], doing: str = "writing") -> _T:
        """Run ``work`` with the batched updates in one short write transaction, all or nothing."""
        conn = self._conn()
        if self.read_only:
            raise CacheError(self._message("is open read-only", "open it without read_only to change it"))
        with self._pending_lock:
            touches, self._touches = self._touches, {}
            counts, self._counts = self._counts, {}
        self._batch_at = self._clock()  # whatever is batched now is written with this write
        try:
            # IMMEDIATE takes the write lock up front, so the busy timeout applies here and a
            # transaction never has to upgrade from reading to writing (which cannot wait).
            conn.execute("BEGIN IMMEDIATE")
            try:
                if touches:
                    conn.executemany(_TOUCH, [(t, k, t) for k, t in touches.items()])
                if counts:
                    conn.executemany(_INCR, list(counts.items()))
                result = work(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass  # SQLite rolls back by itself when the connection closes
                raise
        except BaseException as exc:
            # Counter deltas go back to be written later; access times are only a hint: dropped.
            with self._pending_lock:
                for name, delta in counts.items():
                    self._counts[name] = self._counts.get(name, 0) + delta
            if isinstance(exc, sqlite3.Error):
                if _code(exc) == _READONLY:
                    self._writable = False  # stop batching writes that cannot land
                raise self._fault(exc, doing) from exc
            raise
        return result

    def _evict(self, conn: sqlite3.Connection, keep: str) -> None:
        """Delete least recently read entries until the values fit under the cap (``keep`` stays)."""
        assert self.max_bytes is not None
        excess = conn.execute("SELECT bytes FROM totals").fetchone()[0] - self.max_bytes
        if excess <= 0:
            return
        victims: list[tuple[str]] = []
        cursor = conn.execute("SELECT key, size FROM entries ORDER BY accessed")
        try:
            for key, size in cursor:
                if key != keep:
                    victims.append((key,))
                    excess -= size
                    if excess <= 0:
                        break
        finally:
            cursor.close()
        conn.executemany("DELETE FROM entries WHERE key = ?", victims)
        log.debug(
            "cache: evicted %d entries from %s to fit %d bytes", len(victims), self.path, self.max_bytes
        )

    # -- reads that describe the store --------------------------------------------------------

    def scan(self, limit: int | None = None) -> list[EntryInfo]:
        sql = """SELECT key, size, created, accessed, expires FROM entries
                 WHERE expires IS NULL OR expires > ? ORDER BY created DESC LIMIT ?"""
        rows = self._read(sql, (self._clock(), -1 if limit is None else max(limit, 0)))
        touches = dict(self._touches)  # reads not yet written are still reads
        return [EntryInfo(k, s, c, max(a, touches.get(k, a)), e) for k, s, c, a, e in rows]

    def counters(self) -> dict[str, float]:
        result = dict(self._read("SELECT name, value FROM counters", ()))
        with self._pending_lock:
            for name, delta in self._counts.items():
                result[name] = result.get(name, 0) + delta
        return result

    def info(self) -> dict[str, Any]:
        """Entries and bytes include expired entries not yet pruned; file_bytes counts the WAL too."""
        entries, nbytes = self._read("SELECT entries, bytes FROM totals", ())[0]
        files = (Path(f"{self.path}{suffix}") for suffix in ("", "-wal"))
        file_bytes = sum(f.stat().st_size for f in files if f.exists())
        return {
            "url": self.url,
            "path": str(self.path),
            "entries": entries,
            "bytes": nbytes,
            "file_bytes": file_bytes,
            "max_bytes": self.max_bytes,
            "read_only": self.read_only,
        }

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._fault(exc, "reading") from exc

    # -- connections -------------------------------------------------------------------------

    def close(self) -> None:
        """Write what is batched and close every connection; later calls raise CacheError."""
        if self._closed:
            return
        try:
            self.flush()
        except CacheError as exc:  # closing must not fail over a lost access time or counter
            log.warning("%s", exc)
        finally:
            with self._setup_lock:
                self._closed = True
                conns = list(self._conns)
                self._conns = weakref.WeakSet()
                self._local = threading.local()
            for conn in conns:
                conn.close()
            _live.discard(self)

    def __del__(self) -> None:
        # A store dropped without close() still writes its batched counters (atexit only
        # sees stores that are still alive then).
        if not getattr(self, "_closed", True):
            try:
                self.close()
            except Exception:
                pass

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the schema checked) on first use."""
        try:
            return self._local.conn  # type: ignore[no-any-return]
        except AttributeError:
            pass
        with self._setup_lock:
            if self._closed:
                raise CacheError(f"cache {self.url} is closed; open a new store to use it")
            conn = self._open()
            try:
                # Every new connection checks the schema: two reads, and a file deleted and
                # recreated under a running process gets its tables back instead of errors.
                self._prepare(conn)
            except BaseException:
                conn.close()
                raise
            self._conns.add(conn)
        self._local.conn = conn
        self._local.closer = _Closer(conn)
        return conn
