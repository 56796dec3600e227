"""Replaying a recorded answer: the same chunks in the same order, at once or at the original pace."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

from ..reply import Chunk
from .entry import Entry


def replay(entry: Entry, pace: bool) -> Iterator[Chunk]:
    """The entry's chunks; with ``pace``, each one no sooner than it arrived the first time."""
    chunks = entry.chunks()
    if not pace:
        return iter(chunks)

    def paced() -> Iterator[Chunk]:
        start = time.perf_counter()
        for chunk in chunks:
            wait = chunk.offset_ms / 1000 - (time.perf_counter() - start)
            if wait > 0:
                time.sleep(wait)
            yield chunk

    return paced()


async def areplay(entry: Entry, pace: bool) -> AsyncIterator[Chunk]:
    """The async twin of :func:`replay`."""
    import asyncio

    start = time.perf_counter()
    for chunk in entry.chunks():
        if pace:
            wait = chunk.offset_ms / 1000 - (time.perf_counter() - start)
            if wait > 0:
                await asyncio.sleep(wait)
        yield chunk
