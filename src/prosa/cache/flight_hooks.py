"""A flight's store hooks: ``commit`` (save the answer, then index its question for semantic lookups)
and, on a store that can lock and unless refreshing, ``coordinate`` (cross-process single-flight).

A thread pump (sync callers) gets blocking hooks; a task pump (asyncio callers) gets their async
twins over async_cache, so no store call blocks the event loop. Each side is one line per hook: the
flight's logic around them is written once, in :mod:`prosa.cache.flight`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..reply import Chunk
    from .async_cache import Plan
    from .cache import ResponseCache


def thread_hooks(
    cache: ResponseCache, semantic: Any, call: Any, refresh: bool, wait: float, ttl: float | None
) -> dict[str, Any]:
    """The blocking hooks, for a flight pumped by a thread."""
    key = call.key

    def commit(chunks: list[Chunk]) -> None:
        cache.save(key, chunks, call.model_name, call.provider.kind, call.request, ttl)
        if semantic is not None:
            semantic.remember(call, key)  # the question's vector is memoised since the lookup

    def coordinate() -> Any:
        return cache.coordinate(key, wait)

    return {"commit": commit, "coordinate": None if refresh or not _locks(cache) else coordinate}


def task_hooks(
    cache: ResponseCache, semantic: Any, call: Any, refresh: bool, wait: float, ttl: float | None
) -> dict[str, Any]:
    """The async hooks, for a flight pumped by a task: with live fan-out on Redis, a follower in
    another replica follows the leader's chunks as they are written (see async_cache.acoordinate)."""
    import asyncio

    from .async_cache import acoordinate, asave

    key = call.key

    async def commit(chunks: list[Chunk]) -> None:
        await asave(cache, key, chunks, call.model_name, call.provider.kind, call.request, ttl)
        if semantic is not None:
            await asyncio.to_thread(semantic.remember, call, key)

    async def coordinate() -> Plan:
        return await acoordinate(cache, key, wait)

    return {"commit": commit, "coordinate": None if refresh or not _locks(cache) else coordinate}


def _locks(cache: ResponseCache) -> bool:
    return getattr(cache.store, "supports_locks", False)
