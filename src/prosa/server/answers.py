"""What the gateway sends back: fixed answers (two ASGI messages) and cache hits rendered from their entry.

A hit is rendered from renderings memoised on the decoded entry (its SSE frame tails, its whole
completion body), with the headers that say where it came from: ``x-prosa-cache`` (hit or
semantic-hit, with ``x-prosa-similarity``) and ``Age`` (seconds since it was stored, RFC 9111).
"""

from __future__ import annotations

import time
from typing import Any, Union

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ..cache.cache import Hit
from ..cache.entry import Entry
from .openai_json import Frames, chunk_tails, completion_body, completion_tail

JSON = "application/json"
SSE = "text/event-stream; charset=utf-8"
HIT_JSON = [(b"content-type", JSON.encode()), (b"x-prosa-cache", b"hit")]
HIT_SSE = [(b"content-type", SSE.encode()), (b"x-prosa-cache", b"hit"), (b"cache-control", b"no-cache")]


def _semantic(
    headers: list[tuple[bytes, bytes]], similarity: float, score: float | None = None
) -> list[tuple[bytes, bytes]]:
    """The hit headers of a semantic hit: `x-prosa-cache: semantic-hit`, the similarity and the verifier's score."""
    out = [(k, b"semantic-hit" if k == b"x-prosa-cache" else v) for k, v in headers]
    out.append((b"x-prosa-similarity", f"{similarity:.4f}".encode()))
    if score is not None:
        out.append((b"x-prosa-semantic-score", f"{score:.4f}".encode()))
    return out


class ClientGone(Exception):
    """The HTTP client disconnected before its answer was ready."""


class Fixed:
    """A complete answer sent as two ASGI messages (cheaper than a Starlette Response on the hot path)."""

    __slots__ = ("status_code", "headers", "body")

    def __init__(self, status_code: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status_code, self.headers, self.body = status_code, headers, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [*self.headers, (b"content-length", b"%d" % len(self.body))]
        await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


Answer = Union[Fixed, StreamingResponse]  # noqa: UP007 - a runtime alias on Python 3.10


def _memo(entry: Entry, include_usage: bool | None) -> Any:
    """An entry's rendering, made once per decoded entry: its SSE frame tails (with or without the
    usage chunk), or (None) the tail of its whole completion body."""
    memo = entry.memo
    found = memo.get(include_usage)
    if found is None:
        if include_usage is None:
            found = completion_tail(entry.completion)
        else:
            found = chunk_tails(entry.records, include_usage)
        memo[include_usage] = found
    return found


def hit_answer(hit: Hit, stream: bool, include_usage: bool) -> Fixed:
    """A cache hit as a complete answer: SSE frames or a JSON completion, with its cache headers and Age."""
    entry = hit.entry
    age = time.time() - entry.created
    age_header = (b"age", b"%d" % age if age > 0 else b"0")
    similarity = hit.similarity
    if stream:
        body = Frames().replay(_memo(entry, include_usage))
        headers = HIT_SSE if similarity is None else _semantic(HIT_SSE, similarity, hit.score)
    else:
        body = completion_body(_memo(entry, None))
        headers = HIT_JSON if similarity is None else _semantic(HIT_JSON, similarity, hit.score)
    return Fixed(200, [*headers, age_header], body)
