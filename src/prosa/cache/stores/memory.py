"""An in-process store: an LRU dict with per-entry expiry, for one run or for tests."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .base import EntryInfo, Store, as_bytes, check_key, expiry

__all__ = ["MemoryStore"]

# An entry is a list, not a dataclass: a hit then costs one index per field and updating
# the access time needs no new object. Fields: value, created, accessed, expires.
_VALUE, _CREATED, _ACCESSED, _EXPIRES = 0, 1, 2, 3


class MemoryStore(Store):
    """Keep entries in memory, least recently used first out past ``max_entries``.

    ``ttl`` is the default time to live in seconds (None: entries never expire). ``clock``
    returns the unix time; tests pass a fake one to expire entries without sleeping.
    """

    url = "memory"

    @property
    def place(self) -> str:
        return f"memory@{id(self)}"  # two memory stores hold different answers: never one flight

    def __init__(
        self,
        max_entries: int | None = 10_000,
        ttl: float | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries is not None and max_entries < 1:
            raise ValueError(f"max_entries must be at least 1 or None, got {max_entries!r}")
        expiry(0.0, ttl)  # validates the default ttl now rather than at the first put
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        # Oldest use first: get moves a key to the end, eviction pops from the front.
        self._data: OrderedDict[str, list[Any]] = OrderedDict()
        self._bytes = 0
        self._counters: dict[str, float] = {}

    def get(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            now = self._clock()
            expires = entry[_EXPIRES]
            if expires is not None and expires <= now:
                self._discard(key)
                return None
            entry[_ACCESSED] = now
            self._data.move_to_end(key)
            return entry[_VALUE]  # type: ignore[no-any-return]

    def put(self, key: str, value: bytes, ttl: float | None = None, created: float | None = None) -> None:
        check_key(key)
        value = as_bytes(value)
        now = self._clock()
        expires = expiry(now, self.ttl if ttl is None else ttl)
        with self._lock:
            self._discard(key)
            self._data[key] = [value, now if created is None else created, now, expires]
            self._bytes += len(value)
            if self.max_entries is not None:
                while len(self._data) > self.max_entries:
                    _, old = self._data.popitem(last=False)
                    self._bytes -= len(old[_VALUE])

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._discard(key)

    def scan(self, limit: int | None = None) -> list[EntryInfo]:
        with self._lock:
            now = self._clock()
            infos = [
                EntryInfo(key, len(e[_VALUE]), e[_CREATED], e[_ACCESSED], e[_EXPIRES])
                for key, e in self._data.items()
                if e[_EXPIRES] is None or e[_EXPIRES] > now
            ]
        infos.sort(key=lambda info: info.created, reverse=True)
        return infos if limit is None else infos[: max(limit, 0)]

    def prune(self, older_than: float) -> int:
        with self._lock:
            now = self._clock()
            doomed = [
                key
                for key, e in self._data.items()
                if e[_CREATED] < older_than or (e[_EXPIRES] is not None and e[_EXPIRES] <= now)
            ]
            for key in doomed:
                self._discard(key)
            return len(doomed)

    def clear(self) -> int:
        with self._lock:
            count = len(self._data)
            self._data.clear()
            self._bytes = 0
            return count

    def incr(self, deltas: dict[str, float]) -> None:
        with self._lock:
            for name, delta in deltas.items():
                self._counters[name] = self._counters.get(name, 0) + delta

    def counters(self) -> dict[str, float]:
        with self._lock:
            return dict(self._counters)

    def info(self) -> dict[str, Any]:
        with self._lock:
            return {
                "url": self.url,
                "entries": len(self._data),
                "bytes": self._bytes,
                "max_entries": self.max_entries,
            }

    def close(self) -> None:
        """Nothing to release; the entries stay readable until the store is garbage."""

    def _discard(self, key: str) -> bool:
        """Remove ``key`` if present, keeping the byte total right. The caller holds the lock."""
        entry = self._data.pop(key, None)
        if entry is None:
            return False
        self._bytes -= len(entry[_VALUE])
        return True
