"""The cache policy's async steps, for code on an event loop: look up, save, coordinate replicas.

The rules stay in :class:`ResponseCache` (decoding, encoding, warnings, counters); only the store
calls differ: they go through the store's async side (``stores.async_side``), so a slow or hung
store costs a bounded budget and never blocks the loop. A store failure is warned once and the
request goes on without the cache.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..errors import CacheError
from .stores.async_side import async_side

if TYPE_CHECKING:
    from ..reply import Chunk
    from ..request import ChatRequest
    from .cache import ResponseCache
    from .entry import Entry

__all__ = ["Plan", "acoordinate", "alookup", "asave"]

_POLL_SECONDS = 0.02


async def alookup(cache: ResponseCache, key: str) -> Entry | None:
    """The entry under ``key``, or None (missing, malformed, or the store failed: warned)."""
    side = async_side(cache.store)
    try:
        raw = await side.get(key)
    except CacheError as e:
        cache.warn(e)
        return None
    entry = cache.decode(key, raw)
    if entry is None and raw is not None:
        await asyncio.to_thread(cache._safely, cache.store.delete, key)
    return entry


async def asave(
    cache: ResponseCache, key: str, chunks: list[Chunk], model: str, provider: str, request: ChatRequest,
    ttl: float | None = None,
) -> None:  # fmt: skip
    """The async twin of ``ResponseCache.save``; ``ttl`` (seconds) overrides the store's default."""
    raw = cache.encode(chunks, model, provider, request)
    if raw is None:
        return
    try:
        await async_side(cache.store).put(key, raw, ttl or None)
    except CacheError as e:
        cache.warn(e)


class Plan:
    """What a flight does after coordinating with the other replicas.

    ``entry``: another replica's finished answer (replay it). ``remote``: another replica's answer in
    progress, chunk by chunk (follow it). ``release``: this replica leads (call after saving);
    ``publish``: send each chunk to followers elsewhere, and ``end(ok)`` when done. All None: go alone.
    """

    __slots__ = ("entry", "remote", "release", "publisher")

    def __init__(
        self,
        entry: Entry | None = None,
        remote: AsyncIterator[Chunk] | None = None,
        release: Callable[[], Awaitable[None]] | None = None,
        publisher: Any = None,
    ) -> None:
        self.entry, self.remote, self.release, self.publisher = entry, remote, release, publisher


async def acoordinate(cache: ResponseCache, key: str, wait: float) -> Plan:
    """Cross-replica single-flight on a store that can lock (see ResponseCache.coordinate), async.

    With live fan-out (``fanout``), a follower follows the leader's chunks as they are written
    instead of waiting for the whole answer.
    """
    store: Any = cache.store
    if not getattr(store, "supports_locks", False):
        return Plan()
    side = async_side(store)
    fanout = _fanout_for(store)
    deadline = time.monotonic() + wait
    try:
        while True:
            token = await side.lock(key, wait)
            if token is not None:
                entry = await alookup(cache, key)  # it may have landed between our miss and the lock
                if entry is not None:
                    await side.unlock(key, token)
                    return Plan(entry=entry)

                async def release(token: str = token) -> None:
                    try:
                        await side.unlock(key, token)
                    except CacheError as e:
                        cache.warn(e)

                publisher = await fanout.publisher(key, wait) if fanout is not None else None
                return Plan(release=release, publisher=publisher)
            if fanout is not None:  # follow the leader's chunks live, from the first
                return Plan(remote=fanout.follow(key, deadline))
            while True:  # another replica is answering: wait for its entry, or for its lock to go
                if time.monotonic() > deadline:
                    return Plan()
                await asyncio.sleep(_POLL_SECONDS)
                entry = await alookup(cache, key)
                if entry is not None:
                    return Plan(entry=entry)
                if not await side.locked(key):
                    break  # it failed or died: try to take over
    except CacheError as e:
        cache.warn(e)
        return Plan()


def _fanout_for(store: Any) -> Any:
    make = getattr(store, "fanout", None)
    return make() if callable(make) else None
