"""LangChain ``BaseCache`` implementations on prosa's stores, for ``set_llm_cache``.

They keep entries in the same stores as prosa's own cache, so they share its eviction, TTL,
hit/miss counters and ``prosa cache`` tooling, and the SQLite file is safe across processes.
Entries are plain JSON (see ``codec``): nothing read back can instantiate an arbitrary class.

A cache for another store is one small subclass of :class:`StoreCache` that opens the store, e.g.
``RedisCache(url)`` over a ``RedisStore`` with both ``inline_async_*`` flags False (a network
store must not block the event loop).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.outputs import Generation

from ...cache.cache import ResponseCache
from ...cache.stores import MemoryStore, SQLiteStore, Store
from ...errors import CacheError
from .codec import PREFIX, Generations, cache_key, decode, encode, fresh

__all__ = ["InMemoryCache", "RedisCache", "SQLiteCache", "StoreCache"]


class StoreCache(BaseCache):
    """A LangChain cache over any prosa :class:`~prosa.cache.Store`.

    The policy is prosa's own :class:`~prosa.cache.ResponseCache` (``self.cache``): it reads and
    writes the store, keeps decoded entries, counts hits, misses and tokens saved, and reports a
    failing store (corrupt, locked, read-only or full file) in the log, once a minute, while the
    call goes on as a miss: the model answers, uncached. This class only turns LangChain's
    (prompt, llm_string) into a key and generations into an entry (``codec``). ``clear()``
    deletes only LangChain entries, so a store shared with prosa's own cache keeps prosa's answers.
    """

    #: Whether the async methods may call the store on the event loop's thread. A memory store
    #: never blocks; a SQLite read never waits for a writer (WAL), but a write may wait for the
    #: file lock, so SQLite writes go to a worker thread. A network store would set both False.
    inline_async_reads: bool = True
    inline_async_writes: bool = True

    def __init__(self, store: Store, *, decoded_entries: int = 512) -> None:
        # decoded_entries: entries kept decoded, served again while the stored bytes are the same.
        # It saves JSON parsing and pydantic validation, most of a hit's cost, which LangChain's
        # in-memory cache does not pay. 0 turns it off: every hit is then decoded into new objects.
        self.cache = ResponseCache(store, decoded_entries=decoded_entries)
        self.store = store

    # -- BaseCache ---------------------------------------------------------------------------------
    def lookup(self, prompt: str, llm_string: str) -> list[Generation] | None:
        """The cached generations for (prompt, llm_string), or None; counts a hit or a miss."""
        cache = self.cache
        found: Generations | None = cache.lookup(cache_key(prompt, llm_string), decode)
        if found is None:
            cache.count("misses")
            return None
        cache.count_hit(found)
        if not cache.decoded_entries:
            return found.generations
        # The memo keeps its objects: hand out copies, so a caller's changes stay its own.
        return [fresh(generation) for generation in found.generations]

    def update(self, prompt: str, llm_string: str, return_val: Sequence[Generation]) -> None:
        """Store the generations; ones that are not plain data (see ``codec``) are not cached."""
        value = encode(prompt, return_val)
        if value is not None:
            self.cache.put(cache_key(prompt, llm_string), value)

    def clear(self, **kwargs: Any) -> None:
        """Delete every LangChain entry in the store (prosa's own entries stay)."""
        try:
            for info in self.store.scan():
                raw = self.store.get(info.key)
                if raw is not None and raw.startswith(PREFIX):
                    self.store.delete(info.key)
        except CacheError as e:
            self.cache.warn(e)

    async def alookup(self, prompt: str, llm_string: str) -> list[Generation] | None:
        if self.inline_async_reads:
            return self.lookup(prompt, llm_string)
        return await asyncio.to_thread(self.lookup, prompt, llm_string)

    async def aupdate(self, prompt: str, llm_string: str, return_val: Sequence[Generation]) -> None:
        if self.inline_async_writes:
            self.update(prompt, llm_string, return_val)
        else:
            await asyncio.to_thread(self.update, prompt, llm_string, return_val)

    async def aclear(self, **kwargs: Any) -> None:
        if self.inline_async_writes:
            self.clear(**kwargs)
        else:
            await asyncio.to_thread(self.clear, **kwargs)

    # -- prosa -------------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """The store's description and counters (hits, misses, tokens_saved, ...), as ``prosa cache stats``."""
        return self.cache.stats()

    def close(self) -> None:
        """Write batched counters and release the store."""
        self.cache.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r})"


class InMemoryCache(StoreCache):
    """Drop-in for ``langchain_core.caches.InMemoryCache``, on prosa's :class:`~prosa.cache.MemoryStore`.

    ``maxsize``: entries kept, least recently used out first (None: unbounded, as LangChain's).
    ``ttl``: seconds an entry lives (None: until evicted).
    """

    def __init__(self, *, maxsize: int | None = None, ttl: float | None = None) -> None:
        if maxsize is not None and maxsize <= 0:
            raise ValueError("maxsize must be greater than 0")
        super().__init__(MemoryStore(max_entries=maxsize, ttl=ttl))


class SQLiteCache(StoreCache):
    """Drop-in for ``langchain_community.cache.SQLiteCache``, on prosa's :class:`~prosa.cache.SQLiteStore`.

    ``database_path``: the cache file, created if missing (a file written by LangChain's own
    SQLiteCache is refused with a one-line error: give another path). ``ttl``: seconds an entry
    lives. ``max_size_mb``: cap on stored bytes, least recently read entries out first. The file
    can be shared with prosa's ``Client``/CLI cache and by many processes at once.
    """

    inline_async_writes = False

    def __init__(
        self,
        database_path: str | os.PathLike[str] = ".langchain.db",
        *,
        ttl: float | None = None,
        max_size_mb: float | None = None,
    ) -> None:
        super().__init__(SQLiteStore(Path(database_path), ttl=ttl, max_size_mb=max_size_mb))


class RedisCache(StoreCache):
    """LangChain's cache in Redis (or Valkey), on prosa's :class:`~prosa.cache.stores.redis.RedisStore`.

    ``url``: ``redis://host:port/db`` (``rediss://`` for TLS; a password in the URL). ``ttl``: seconds
    an entry lives (Redis's own EXPIRE). ``namespace`` prefixes every key. Every process and gateway
    replica pointing at the same Redis shares the entries and the counters. A Redis that is away
    makes calls misses (logged once), never failures.
    """

    # A network store: never call it on the event loop's thread.
    inline_async_reads = False
    inline_async_writes = False

    def __init__(self, url: str, *, ttl: float | None = None, namespace: str = "prosa") -> None:
        from ...cache.stores.redis import RedisStore

        super().__init__(RedisStore(url, ttl=ttl, namespace=namespace))
