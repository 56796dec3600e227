"""Process-wide bookkeeping of the SQLite store's connections: closing a thread's connection
when the thread ends, flushing batched writes at exit, and keeping connections from crossing a fork."""

from __future__ import annotations

import atexit
import logging
import os
import sqlite3
import weakref
from typing import Any

log = logging.getLogger("prosa.cache.stores.sqlite")


class _Connection(sqlite3.Connection):
    """A connection that can be weakly referenced (by the store's set of open connections)."""


class _Closer:
    """Closes a thread's connection when the thread ends and drops its thread-local: a sqlite3
    connection is in a cycle with its statement cache and would keep its files open until a GC."""

    __slots__ = ("conn", "pid")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn, self.pid = conn, os.getpid()

    def __del__(self) -> None:
        if os.getpid() == self.pid:  # never the parent's connection, in a forked child
            self.conn.close()


# Every open store, so batched writes reach the file at exit and a forked child starts clean.
_live: weakref.WeakSet[Any] = weakref.WeakSet()  # SQLiteStore instances
_forking: list[sqlite3.Connection] = []  # every connection, held strongly across a fork
_inherited: list[sqlite3.Connection] = []  # a forked child's copies of its parent's: kept, never used


def _flush_live_stores() -> None:
    for store in list(_live):
        try:
            store.flush()
        except Exception as exc:  # at exit there is no one left to tell but the log
            log.debug("cache: could not flush %s at exit: %s", store.url, exc)


def _all_connections() -> list[sqlite3.Connection]:
    for _ in range(10):  # a thread opening or ending a connection can change a set mid-iteration
        try:
            return [conn for store in list(_live) for conn in list(store._conns)]
        except RuntimeError:
            continue
    return []


# A SQLite connection must not cross a fork, and closing the child's copy could checkpoint or
# unlock behind the parent's back. So before a fork every connection is held strongly (the child
# drops other threads' thread-locals, which would close theirs), and the child keeps them forever,
# unused, opening its own on first use.
def _before_fork() -> None:
    _forking[:] = _all_connections()


def _after_fork_in_parent() -> None:
    _forking.clear()


def _after_fork_in_child() -> None:
    _inherited.extend(_forking)
    _forking.clear()
    for store in list(_live):
        store._reset_process_state()


atexit.register(_flush_live_stores)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
    )
