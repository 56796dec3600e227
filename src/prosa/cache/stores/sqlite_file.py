"""Opening a prosa SQLite cache file: creating it private, falling back to read-only, checking and
migrating its schema, and turning SQLite's failures into one-line errors that say what to do.

A mixin of :class:`~prosa.cache.stores.sqlite.SQLiteStore`, which holds the connections and the data;
it needs the store's ``path``, ``read_only``, ``busy_timeout`` and ``_writable``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import urllib.parse
from pathlib import Path

from prosa.errors import CacheError

from .sqlite_lifecycle import _Connection
from .sqlite_schema import _CANTOPEN, _FAULTS, _MIGRATIONS, _PERM, _READONLY, SCHEMA_VERSION, _code

log = logging.getLogger("prosa.cache.stores.sqlite")


class SQLiteFile:
    """The file side of a SQLite store: open, prepare, fail clearly."""

    path: Path
    read_only: bool
    busy_timeout: float
    _writable: bool

    def _open(self) -> _Connection:
        """Connect read-write, or read-only when that is all the file and directory allow."""
        if not self.read_only:
            self._create_file()
            try:
                return self._connect(str(self.path), uri=False)
            except sqlite3.Error as exc:
                if _code(exc) not in (_READONLY, _CANTOPEN, _PERM):
                    raise self._fault(exc, "opening") from exc
                first: sqlite3.Error = exc
            log.debug("cache: %s is not writable (%s); opening it read-only", self.path, first)
            self._writable = False
        uri = "file:" + urllib.parse.quote(self.path.as_posix()) + "?mode=ro"
        try:
            return self._connect(uri, uri=True)
        except sqlite3.Error as exc:
            first = exc
        # In a read-only directory SQLite cannot create the WAL index (-shm) it reads through.
        # With nobody able to write there, reading the file as immutable is safe.
        try:
            return self._connect(uri + "&immutable=1", uri=True)
        except sqlite3.Error:
            raise self._fault(first, "opening") from first

    def _connect(self, target: str, uri: bool) -> _Connection:
        conn = sqlite3.connect(
            target,
            timeout=self.busy_timeout,
            isolation_level=None,  # autocommit: we issue BEGIN/COMMIT ourselves, reads hold no lock
            check_same_thread=False,  # only its own thread uses it; close() may run elsewhere
            factory=_Connection,
            uri=uri,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = OFF")
            conn.execute("PRAGMA user_version").fetchone()  # reads the header: bad files fail here
        except BaseException:
            conn.close()
            raise
        return conn  # type: ignore[return-value]

    def _create_file(self) -> None:
        """Create the directory and an empty private file, before SQLite creates it world-readable."""
        if self.path.exists():
            return
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o600))
        except OSError as exc:
            what = f"cannot be created ({exc.strerror or exc})"
            raise CacheError(self._message(what, "make its directory writable")) from exc

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Check the schema version, then switch to WAL and migrate if this file needs it."""
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            self._check_version(version)
            if version == SCHEMA_VERSION and not self._writable:
                return
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if version < SCHEMA_VERSION:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    self._migrate(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise self._fault(exc, "setting up") from exc
        self._private_sidecars()

    def _migrate(self, conn: sqlite3.Connection) -> None:
        # Read again under the write lock: another process may have migrated meanwhile.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        self._check_version(version)
        if version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise CacheError(self._message("is a SQLite database but not a prosa cache", "move it away"))
        for statements in _MIGRATIONS[version:]:
            for sql in statements:
                conn.execute(sql)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _check_version(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            what = f"was written by a newer prosa (cache schema {version}, this one reads {SCHEMA_VERSION})"
            raise CacheError(self._message(what, "upgrade prosa"))

    def _private_sidecars(self) -> None:
        """SQLite gives -wal and -shm the mode of the database file; make sure, as they hold values too."""
        for suffix in ("-wal", "-shm"):
            try:
                sidecar = f"{self.path}{suffix}"
                if os.stat(sidecar).st_mode & 0o077 and os.stat(self.path).st_mode & 0o077 == 0:
                    os.chmod(sidecar, 0o600)
            except OSError:
                pass  # missing, or not ours: nothing to tighten

    # -- errors --------------------------------------------------------------------------------

    def _message(self, what: str, fix: str) -> str:
        return f"cache file {self.path} {what}; {fix}, or choose another with --cache"

    def _fault(self, exc: sqlite3.Error, doing: str) -> CacheError:
        """Turn a SQLite failure into a one-line CacheError saying what happened and what to do."""
        what, fix = _FAULTS.get(_code(exc), ("failed while {doing}", "check the file and the disk"))
        what = what.format(doing=doing, timeout=self.busy_timeout)
        return CacheError(self._message(f"{what} ({' '.join(str(exc).split())})", fix))
