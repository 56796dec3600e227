"""The contract every cache store keeps: opaque bytes under hex keys, nothing more.

A store is deliberately dumb. It knows how to keep, find, list and forget values, how old they
are and when they expire, and how to add to a few named counters. It does not know what a key
means, what may be cached, which TTL a reply deserves or how hits are counted: the cache policy
(:class:`prosa.cache.cache.ResponseCache`) decides all of that and tells the store. So a new
backend is only this contract, and every policy rule is written once, over all of them.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any, TypeVar

from ..._record import Record

__all__ = ["EntryInfo", "Store", "check_key", "as_bytes", "expiry"]

_KEY_RE = re.compile(r"[0-9a-f]{64}")
_S = TypeVar("_S", bound="Store")


class EntryInfo(Record):
    """What a store knows about one entry, without its value. Times are unix seconds."""

    __slots__ = ("key", "size", "created", "accessed", "expires")

    def __init__(self, key: str, size: int, created: float, accessed: float, expires: float | None) -> None:
        self.key = key
        self.size = size
        self.created = created
        self.accessed = accessed
        self.expires = expires


class Store(ABC):
    """Base class of the cache stores: a thread-safe, synchronous map from key to bytes.

    Keys are 64-character lowercase hex strings (a sha256 made by the cache). Values are bytes the
    store never looks into. Every failure of the storage itself (corrupt, locked, read-only, full)
    is raised as :class:`prosa.errors.CacheError` with a one-line message naming the store.
    """

    #: Where the store lives, for messages and ``prosa cache stats``: "memory", "sqlite:///abs/x.db".
    url: str

    @property
    def place(self) -> str:
        """What identifies the data behind the store, for sharing in-flight answers: two stores on one
        file or server share them; every memory store is a place of its own."""
        return self.url

    @abstractmethod
    def get(self, key: str) -> bytes | None:
        """Return the value stored under ``key``, or None when it is missing or expired."""

    @abstractmethod
    def put(self, key: str, value: bytes, ttl: float | None = None, created: float | None = None) -> None:
        """Store ``value`` under ``key``, replacing any old value atomically.

        ``ttl`` (seconds, > 0) overrides the store's default time to live; None means the default.
        ``created`` (unix time) keeps an entry's original age when it is restored (``prosa cache
        import``), so pruning by age still works on it; None means now. The TTL counts from now.
        """

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        """The values of many keys, in order (None where missing). Stores that can answer in one round
        trip override this (an embedding batch asks for thousands at once)."""
        return [self.get(key) for key in keys]

    def put_many(self, items: list[tuple[str, bytes]], ttl: float | None = None) -> None:
        """Store many values; stores that can do it in one transaction override this."""
        for key, value in items:
            self.put(key, value, ttl)

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Forget ``key``. Return True if there was an entry to forget."""

    @abstractmethod
    def scan(self, limit: int | None = None) -> list[EntryInfo]:
        """Describe the live (unexpired) entries, most recently created first, at most ``limit``."""

    @abstractmethod
    def prune(self, older_than: float) -> int:
        """Delete entries created before the unix time ``older_than`` and all expired ones; return how many."""

    @abstractmethod
    def clear(self) -> int:
        """Delete every entry (counters are kept); return how many there were."""

    @abstractmethod
    def incr(self, deltas: dict[str, float]) -> None:
        """Add each delta to the counter of that name (hits, misses, tokens_saved, ...)."""

    @abstractmethod
    def counters(self) -> dict[str, float]:
        """Return every counter with its current value."""

    @abstractmethod
    def info(self) -> dict[str, Any]:
        """Return at least ``{"url": str, "entries": int, "bytes": int}``; stores may add more."""

    def flush(self) -> None:  # noqa: B027 - a no-op is right for stores that write at once
        """Write anything the store has batched in memory (access times, counter deltas)."""

    def close(self) -> None:  # noqa: B027 - a no-op is right for stores that hold nothing open
        """Flush and release what the store holds open. The store cannot be used afterwards."""

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"


def check_key(key: str) -> None:
    """Refuse a key that is not 64 lowercase hex characters: a caller bug, not a storage fault."""
    if not isinstance(key, str) or _KEY_RE.fullmatch(key) is None:
        raise ValueError(f"cache keys are 64 lowercase hex characters, got {key!r:.80}")


def as_bytes(value: bytes | bytearray | memoryview) -> bytes:
    """Return ``value`` as immutable bytes (a stored bytearray must not change under the store)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"cache values are bytes, got {type(value).__name__}")


def expiry(now: float, ttl: float | None) -> float | None:
    """Return the unix time an entry written at ``now`` expires, or None if it never does."""
    if ttl is None:
        return None
    if not ttl > 0:  # also refuses NaN
        raise ValueError(f"a cache ttl is a positive number of seconds, got {ttl!r}")
    return now + ttl
