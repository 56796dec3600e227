"""The async hooks of a flight started from an event loop: commit and coordinate via async_cache."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..reply import Chunk
    from .cache import ResponseCache


def async_hooks(
    cache: ResponseCache,
    semantic: Any,
    call: Any,
    key: str,
    refresh: bool,
    wait: float,
    ttl: float | None = None,
) -> dict[str, Any]:
    """``acommit`` (save, then index the question in a thread) and, on a store that can lock and
    unless refreshing, ``acoordinate`` (cross-replica single-flight, with live fan-out on Redis)."""
    from .async_cache import Plan, acoordinate, asave

    async def acommit(chunks: list[Chunk]) -> None:
        await asave(cache, key, chunks, call.model_name, call.provider.kind, call.request, ttl)
        if semantic is not None:
            await asyncio.to_thread(semantic.remember, call, key)

    hooks: dict[str, Any] = {"acommit": acommit}
    if not refresh and getattr(cache.store, "supports_locks", False):

        async def coordinate() -> Plan:
            return await acoordinate(cache, key, wait)

        hooks["acoordinate"] = coordinate
    return hooks
