"""The response cache: stores (memory, SQLite) under one policy shared by every door."""

from __future__ import annotations

from typing import Any

__all__ = ["Entry", "MemoryStore", "ResponseCache", "SQLiteStore", "Store", "cache_key", "open_store"]


def __getattr__(name: str) -> Any:
    # Lazy, so importing one part of the cache does not import every store.
    if name in ("ResponseCache", "open_store"):
        from . import cache

        return getattr(cache, name)
    if name == "Entry":
        from .entry import Entry

        return Entry
    if name == "cache_key":
        from .key import cache_key

        return cache_key
    if name in ("MemoryStore", "SQLiteStore", "Store"):
        from . import stores

        return getattr(stores, name)
    raise AttributeError(f"module 'prosa.cache' has no attribute {name!r}")
