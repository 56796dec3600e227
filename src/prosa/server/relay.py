"""Waiting on the upstream while the client may leave, and relaying a miss as it arrives.

A client that disconnects cancels what it was waiting for, which stops the upstream call once no
other reader of the same flight is left.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from starlette.types import Receive

from ..reply import Chunk
from ..stream import AsyncChatStream
from .answers import ClientGone
from .errors import to_http
from .metrics import Metrics
from .openai_json import DONE, Frames, chunk_tail, error_frame

_T = TypeVar("_T")


async def until_disconnect(work: Awaitable[_T], receive: Receive, metrics: Metrics) -> _T:
    """Await ``work``, unless the client disconnects first: then cancel it (stopping the upstream)."""
    task: asyncio.Future[_T] = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait((task, watch), return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done():
            task.cancel()
            metrics.streams_cancelled += 1
        watch.cancel()
    if not task.done():
        try:
            await task  # let the cancellation run its cleanup (leaving the flight)
        except BaseException:  # noqa: BLE001
            pass
        raise ClientGone()
    return task.result()


async def next_chunk(stream: AsyncChatStream) -> Chunk | None:
    """The stream's next chunk, or None at its end."""
    try:
        return await stream.__anext__()
    except StopAsyncIteration:
        return None


async def relay_chat(
    stream: AsyncChatStream,
    first: Chunk | None,
    include_usage: bool,
    start: float,
    metrics: Metrics,
    forward_key: bool,
) -> AsyncIterator[bytes]:
    """A miss, as SSE frames sent the moment each chunk arrives. Cancelled when the client leaves."""
    frames = Frames()
    try:
        if first is not None:
            tail = chunk_tail(first.data, include_usage)
            if tail is not None:
                yield frames.frame(tail)
            async for chunk in stream:
                tail = chunk_tail(chunk.data, include_usage)
                if tail is not None:
                    yield frames.frame(tail)
        metrics.answer.observe(time.perf_counter() - start)
        yield DONE
    except (asyncio.CancelledError, GeneratorExit):
        metrics.streams_cancelled += 1
        raise
    except Exception as e:  # noqa: BLE001 - the status is sent: report in the stream, as OpenAI does
        error = to_http(e, forward_key)
        yield error_frame(error.message, error.kind, error.code)
    finally:
        await stream.aclose()  # leaving the flight: when no reader is left, the upstream call stops


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
