"""The async side of any store, for code on an event loop (the gateway, AsyncClient).

A store with its own asyncio client (Redis) gives its ``async_side()``; any other store's writes and
locks run in a worker thread, so the loop never waits on a disk or a lock. Reads run inline where
they cannot wait: the memory store's are a dict lookup under a lock held for microseconds, and
SQLite's, in WAL mode, never wait for a writer (a point read is ~5 us; a thread hop costs ~10 times
that, a third of the gateway's cached-hit throughput when measured).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any

from .base import Store

__all__ = ["ThreadSide", "async_side"]

_sides: weakref.WeakKeyDictionary[Store, Any] = weakref.WeakKeyDictionary()
_sides_lock = threading.Lock()


def async_side(store: Store) -> Any:
    """The async side of ``store`` (one per store object): get/put/incr/lock/locked/unlock/flush."""
    side = _sides.get(store)
    if side is not None:
        return side
    with _sides_lock:
        side = _sides.get(store)
        if side is None:
            own = getattr(store, "async_side", None)
            side = own() if callable(own) else ThreadSide(store)
            _sides[store] = side
    return side


class ThreadSide:
    """A synchronous store's calls, off the event loop in a worker thread (inline for memory)."""

    def __init__(self, store: Store) -> None:
        from .memory import MemoryStore
        from .sqlite import SQLiteStore

        self.store = store
        self.inline = isinstance(store, MemoryStore)
        self.inline_reads = self.inline or isinstance(store, SQLiteStore)

    async def _run(self, fn: Any, *args: Any) -> Any:
        if self.inline:
            return fn(*args)
        return await asyncio.to_thread(fn, *args)

    async def get(self, key: str) -> bytes | None:
        if self.inline_reads:
            return self.store.get(key)
        return await self._run(self.store.get, key)  # type: ignore[no-any-return]

    async def put(self, key: str, value: bytes, ttl: float | None = None) -> None:
        await self._run(self.store.put, key, value, ttl)

    def incr(self, deltas: dict[str, float]) -> None:
        # Batched in memory by every store; SQLite's occasional write never waits for a lock (busy_timeout 0).
        self.store.incr(deltas)

    async def lock(self, key: str, ttl: float) -> str | None:
        return await self._run(self.store.lock, key, ttl)  # type: ignore[attr-defined,no-any-return]

    async def locked(self, key: str) -> bool:
        return await self._run(self.store.locked, key)  # type: ignore[attr-defined,no-any-return]

    async def unlock(self, key: str, token: str) -> None:
        await self._run(self.store.unlock, key, token)  # type: ignore[attr-defined]

    async def flush(self) -> None:
        await self._run(self.store.flush)
