"""The SQLite store's schema (with its migrations), statements, and the table of SQLite failures
turned into one-line messages. Kept apart from ``sqlite.py``, which is about behaviour."""

from __future__ import annotations

import sqlite3

# Migration N (0-based) takes a file from schema N to N+1. Append, never edit a released one.
_MIGRATIONS: list[tuple[str, ...]] = [
    (
        # A rowid table rather than WITHOUT ROWID: values are kilobytes, and SQLite advises
        # WITHOUT ROWID only for rows under ~1/20 of a page.
        """CREATE TABLE entries (key TEXT PRIMARY KEY, value BLOB NOT NULL, size INTEGER NOT NULL,
           created REAL NOT NULL, accessed REAL NOT NULL, expires REAL)""",
        "CREATE INDEX entries_accessed ON entries (accessed)",
        "CREATE INDEX entries_created ON entries (created)",
        "CREATE TABLE counters (name TEXT PRIMARY KEY, value REAL NOT NULL) WITHOUT ROWID",
        "CREATE TABLE totals (id INTEGER PRIMARY KEY CHECK (id = 0), entries INTEGER NOT NULL, bytes INTEGER NOT NULL)",
        "INSERT INTO totals VALUES (0, 0, 0)",
        """CREATE TRIGGER entries_added AFTER INSERT ON entries BEGIN
           UPDATE totals SET entries = entries + 1, bytes = bytes + NEW.size; END""",
        """CREATE TRIGGER entries_removed AFTER DELETE ON entries BEGIN
           UPDATE totals SET entries = entries - 1, bytes = bytes - OLD.size; END""",
        """CREATE TRIGGER entries_resized AFTER UPDATE OF size ON entries BEGIN
           UPDATE totals SET bytes = bytes - OLD.size + NEW.size; END""",
    ),
]
SCHEMA_VERSION = len(_MIGRATIONS)

_GET = "SELECT value, expires FROM entries WHERE key = ?"
# An upsert, not INSERT OR REPLACE: REPLACE's implicit delete skips the delete trigger.
_PUT = """INSERT INTO entries (key, value, size, created, accessed, expires) VALUES (?, ?, ?, ?, ?, ?)
          ON CONFLICT (key) DO UPDATE SET value = excluded.value, size = excluded.size,
          created = excluded.created, accessed = excluded.accessed, expires = excluded.expires"""
_TOUCH = "UPDATE entries SET accessed = ? WHERE key = ? AND accessed < ?"
_INCR = """INSERT INTO counters (name, value) VALUES (?, ?)
           ON CONFLICT (name) DO UPDATE SET value = value + excluded.value"""

# Primary SQLite result codes (exc.sqlite_errorcode & 0xFF, Python 3.11+).
_PERM, _BUSY, _LOCKED, _READONLY, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 3, 5, 6, 8, 11, 13, 14, 26


_NOT_SQLITE = ("is not a valid SQLite database", "delete it or move it away")
_IS_LOCKED = (
    "is locked: another process held it for over {timeout:g}s",
    "try again, or stop the program holding it",
)
_IS_READ_ONLY = ("is read-only", "make it and its directory writable")
_FAULTS: dict[int | None, tuple[str, str]] = {  # primary SQLite result code -> what happened, how to fix it
    _CORRUPT: _NOT_SQLITE,
    _NOTADB: _NOT_SQLITE,
    _BUSY: _IS_LOCKED,
    _LOCKED: _IS_LOCKED,
    _READONLY: _IS_READ_ONLY,
    _PERM: _IS_READ_ONLY,
    _FULL: ("cannot grow: the disk is full", "free some disk space or clear the cache"),
    _CANTOPEN: ("cannot be opened", "check that it and its directory are readable"),
}
_GUESSES = {"not a database": _NOTADB, "malformed": _CORRUPT, "locked": _BUSY, "readonly": _READONLY,
            "full": _FULL, "unable to open": _CANTOPEN}  # fmt: skip


def _code(exc: sqlite3.Error) -> int | None:
    """The primary SQLite result code of ``exc``, from the error itself or (Python 3.10) its message."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF  # type: ignore[no-any-return]
    text = str(exc).lower()
    return next((guess for needle, guess in _GUESSES.items() if needle in text), None)
