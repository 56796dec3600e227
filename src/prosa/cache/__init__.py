"""The response cache: stores (memory, SQLite) under one policy shared by every door."""

from __future__ import annotations

from .._lazy import lazy_exports

# Lazy, so importing one part of the cache does not import every store.
_WHERE = {
    "Entry": "entry",
    "MemoryStore": "stores",
    "ResponseCache": "cache",
    "SQLiteStore": "stores",
    "Store": "stores",
    "cache_key": "key",
    "open_store": "cache",
}

__all__ = sorted(_WHERE)

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
