"""Cache stores: where cached answers live, as opaque bytes under hex keys.

A store knows get/put/delete/scan/prune and a few counters; what to cache, for how long and
under which key is decided by the cache policy (``prosa.cache``), never here.
"""

from __future__ import annotations

from .base import EntryInfo, Store
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = ["EntryInfo", "MemoryStore", "SQLiteStore", "Store"]
