"""Live fan-out across replicas: the leader of an in-flight answer publishes each chunk to a Redis
Stream; a follower on any replica replays what was written, then follows live.

- Stream ``ns:s:{key}`` (the entry's hash tag: the same cluster slot as its entry and lock). Each
  chunk is one ``XADD`` (``n`` its number, ``d`` the upstream's chunk JSON, ``o`` its offset in ms),
  capped near ``MAX_CHUNKS`` entries, the stream expiring ``ttl`` seconds after its last write.
- The end is one more entry: ``end=finish`` (after the answer was committed, so a follower that sees it
  could also read the entry) or ``end=error``. Nothing is committed unless the leader finished.
- A leader that dies says nothing: its lock expires. A follower that finds no lock and no end gives up:
  before its first chunk it takes over (asks the model itself); after it, it fails with
  StreamInterrupted (its client has already seen part of the answer).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from ..errors import CacheError, StreamInterrupted
from ..reply import Chunk

__all__ = ["Fanout", "LeaderGone", "Publisher"]

MAX_CHUNKS = 20_000
_BLOCK_MS = 250  # one XREAD waits this long for new chunks before checking the leader is alive
_END_TTL_MS = 30_000
_RETRIES = 5  # failed reads in a row a follower forgives once it has sent chunks  # a finished stream lingers this long for late followers, then goes


class LeaderGone(Exception):
    """The leader went away before this follower saw any chunk: take over."""


class Fanout:
    """Publishers and followers over one RedisStore's async side."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.side = store.async_side()

    async def publisher(self, key: str, ttl: float) -> Publisher | None:
        """A publisher for the answer this replica leads (None when Redis is failing: go without)."""
        name = self.store.stream_name(key)
        try:
            await self.side.call(lambda r: r.delete(name), "starting a stream")  # an old answer's stream
        except CacheError:
            return None
        return Publisher(self.side, name, max(1, int(ttl * 1000)))

    def follow(self, key: str, deadline: float) -> AsyncIterator[Chunk]:
        return _follow(self.side, key, self.store.stream_name(key), deadline)


class Publisher:
    """Sends the leader's chunks. A Redis failure stops the publishing, never the answer."""

    def __init__(self, side: Any, name: str, ttl_ms: int) -> None:
        self.side, self.name, self.ttl_ms = side, name, ttl_ms
        self.sent = 0
        self.broken = False

    async def _xadd(self, fields: dict[str, Any], ttl_ms: int) -> None:
        name = self.name

        async def write(r: Any) -> None:
            pipe = r.pipeline(transaction=False)
            pipe.xadd(name, fields, maxlen=MAX_CHUNKS, approximate=True)
            pipe.pexpire(name, ttl_ms)
            await pipe.execute()

        await self.side.call(write, "publishing a chunk")

    async def add(self, chunk: Chunk) -> None:
        if self.broken:
            return
        fields = {"n": self.sent, "d": json.dumps(chunk.data, separators=(",", ":")), "o": chunk.offset_ms}
        try:
            await self._xadd(fields, self.ttl_ms)
            self.sent += 1
        except CacheError:
            self.broken = True  # followers see no end and the lock go: they fail or take over

    async def end(self, ok: bool) -> None:
        if self.broken:
            return
        try:
            await self._xadd({"end": "finish" if ok else "error"}, _END_TTL_MS)
        except CacheError:
            pass


async def _follow(side: Any, key: str, name: str, deadline: float) -> AsyncIterator[Chunk]:
    last = "0-0"
    seen = failures = 0
    block_budget = _BLOCK_MS / 1000 + side.budget
    while True:
        if time.monotonic() > deadline:
            raise _gone(seen, "the replica answering this request took too long")
        try:
            got = await side.call(
                lambda r, last=last: r.xread({name: last}, count=256, block=_BLOCK_MS),
                "following a stream",
                block_budget,
            )
        except CacheError:
            failures += 1  # a late reply on a busy process: read again from the last chunk seen
            if not seen or failures > _RETRIES or not side.breaker.allow():
                raise _gone(seen, "lost the stream of the replica answering this request") from None
            continue
        failures = 0
        if not got:
            try:
                alive = await side.locked(key)
            except CacheError:
                alive = False
            if not alive:  # no lock and no end: the leader died (or stopped publishing)
                raise _gone(seen, "the replica answering this request went away")
            continue
        for entry_id, fields in got[0][1]:
            last = entry_id
            end = fields.get(b"end")
            if end is not None:
                if end == b"finish":
                    return
                raise _gone(seen, "the replica answering this request failed")
            if int(fields[b"n"]) != seen:  # the start was trimmed away: this stream cannot be replayed whole
                raise _gone(0 if not seen else seen, "the stream of this answer is incomplete")
            seen += 1
            yield Chunk.of(json.loads(fields[b"d"]), float(fields[b"o"]))


def _gone(seen: int, why: str) -> Exception:
    if not seen:
        return LeaderGone(why)
    return StreamInterrupted(f"{why} mid-answer; retry")
