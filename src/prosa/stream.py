"""ChatStream and AsyncChatStream: iterate chunks as they are written, then read ``.reply``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from .completion import assemble
from .reply import Chunk, Reply, Usage


class Collector:
    """Builds the Reply from the chunks that went by: their data, assembled into the whole completion."""

    def __init__(
        self, model: str, provider: str, cached: bool | str, key: str | None, start: float,
        similarity: float | None = None, semantic_score: float | None = None,
    ) -> None:  # fmt: skip
        self.data: list[dict] = []
        self.model, self.provider, self.cached, self.key, self.start = model, provider, cached, key, start
        self.similarity, self.semantic_score = similarity, semantic_score

    def add(self, chunk: Chunk) -> None:
        self.data.append(chunk.data)

    def reply(self) -> Reply:
        return reply_of(
            assemble(self.data), self.model, self.provider, self.cached, self.start, len(self.data), self.key,
            self.similarity, self.semantic_score,
        )  # fmt: skip


def reply_of(
    completion: dict, model: str, provider: str, cached: bool | str, start: float, chunks: int,
    key: str | None, similarity: float | None = None, semantic_score: float | None = None,
) -> Reply:  # fmt: skip
    """The Reply for an assembled completion (a collected stream, or a cache entry's record)."""
    choices = completion["choices"]
    first = choices[0] if choices else None
    return Reply(
        text=(first["message"].get("content") or "") if first else "",
        model=model,
        provider=provider,
        finish_reason=first["finish_reason"] if first else None,
        usage=Usage.from_dict(completion.get("usage")),
        cached=cached,
        latency_ms=(time.perf_counter() - start) * 1000,
        chunks=chunks,
        key=key,
        similarity=similarity,
        semantic_score=semantic_score,
        completion=completion,
    )


def _once(fn: Callable[[], None]) -> Callable[[], None]:
    done = False

    def call() -> None:
        nonlocal done
        if not done:
            done = True
            fn()

    return call


class _StreamBase:
    """What both stream kinds share: the source of chunks, the collector, the reply once complete,
    the close hook. Each kind adds only its driver: the blocking or the awaited read and close."""

    def __init__(self, chunks: Any, collector: Collector, on_close: Callable[[], None]) -> None:
        self._chunks = chunks
        self._collector = collector
        self._on_close = _once(on_close)
        self._reply: Reply | None = None

    @property
    def cached(self) -> bool | str:
        return self._collector.cached

    @property
    def model(self) -> str:
        """The model answering, known before the first chunk."""
        return self._collector.model

    @property
    def provider(self) -> str:
        return self._collector.provider

    def _took(self, chunk: Chunk) -> Chunk:
        self._collector.add(chunk)
        return chunk

    def _stopped(self, error: BaseException) -> None:
        """The source raised: at its end, the Reply is assembled; on a failure (the source is finished
        then, nothing to close), the stream is over. Either way the close hook runs, once."""
        if self._reply is None:
            if isinstance(error, (StopIteration, StopAsyncIteration)):
                self._reply = self._collector.reply()
            self._on_close()


class ChatStream(_StreamBase):
    """An answer being written. Iterate it for chunks; ``reply`` is the whole answer afterwards.

    Reading ``reply`` before the end reads the rest first. ``close()`` (or leaving a ``with`` block)
    stops early: the model stops generating and nothing is cached.
    """

    _chunks: Iterator[Chunk]

    @property
    def reply(self) -> Reply:
        if self._reply is None:
            for _ in self:
                pass
        assert self._reply is not None
        return self._reply

    @property
    def text(self) -> str:
        return self.reply.text

    def __iter__(self) -> Iterator[Chunk]:
        return self

    def __next__(self) -> Chunk:
        try:
            return self._took(next(self._chunks))
        except BaseException as e:
            self._stopped(e)
            raise

    def close(self) -> None:
        if self._reply is None and hasattr(self._chunks, "close"):
            self._chunks.close()
        self._on_close()  # once: a finished stream has run it already

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass


class AsyncChatStream(_StreamBase):
    """The async twin of :class:`ChatStream`: ``async for chunk in stream``, then ``stream.reply``."""

    _chunks: AsyncIterator[Chunk]

    @property
    def reply(self) -> Reply:
        """The whole answer; available once the stream has been read to the end (see :meth:`collect`)."""
        if self._reply is None:
            raise RuntimeError("the stream has not been read to the end; use `await stream.collect()`")
        return self._reply

    async def collect(self) -> Reply:
        """Read the rest of the stream and return the whole answer."""
        async for _ in self:
            pass
        return self.reply

    def __aiter__(self) -> AsyncIterator[Chunk]:
        return self

    async def __anext__(self) -> Chunk:
        try:
            return self._took(await self._chunks.__anext__())
        except BaseException as e:
            self._stopped(e)
            raise

    async def aclose(self) -> None:
        if self._reply is None and hasattr(self._chunks, "aclose"):
            await self._chunks.aclose()
        self._on_close()

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
