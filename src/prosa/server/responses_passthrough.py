"""/v1/responses passed through to an upstream that speaks the Responses API (OpenAI), and cached.

The body goes upstream as sent (always streamed); its events are relayed as they come and recorded,
and committed only when the response completed (or is incomplete: cut at max_output_tokens). A hit
replays the same events, streamed, or its final response, whole. The upstream's ids are kept: the
response lives upstream under that id, so ``previous_response_id`` and ``GET /v1/responses/{id}``
(passed through too) keep working on replayed answers.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.responses import StreamingResponse

from ..cache.entry import Entry
from ..cache.formats import RESPONSES_PROVIDER
from ..errors import StreamInterrupted, UpstreamError
from ..reply import Chunk
from ..request import KEY_VERSION, is_local_model
from .answers import JSON, SSE, Fixed
from .errors import to_http
from .openai_json import dumps_ascii as _dumps

if TYPE_CHECKING:
    from ..client import AsyncClient
    from .gateway import Gateway

# Who asks, for abuse monitoring or the upstream's prompt cache: forwarded, never the answer.
UNKEYED = frozenset({"user", "metadata", "service_tier", "safety_identifier", "prompt_cache_key", "stream"})
_ENDS = ("response.completed", "response.incomplete")
_sorted = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


def passes_through(gateway: Gateway, model: str) -> bool:
    mode = gateway.config.responses
    if is_local_model(model) or mode == "translate":
        return False
    return mode == "passthrough" or gateway.settings.is_openai_host


def key(scope: str, identity: str, body: dict[str, Any]) -> str:
    keyed = {k: v for k, v in body.items() if k not in UNKEYED}
    h = hashlib.sha256(KEY_VERSION + b"\x00responses\x00" + f"{scope}\x00{identity}\x00".encode())
    h.update(_sorted(keyed).encode())
    return h.hexdigest()


def _sse(event: dict[str, Any]) -> bytes:
    return b"event: %s\ndata: %s\n\n" % (str(event.get("type")).encode(), _dumps(event).encode())


async def create(
    gateway: Gateway, client: AsyncClient, body: dict[str, Any], refresh: bool, use_cache: bool, scope: str
) -> Any:
    provider = client.provider_for(body["model"])
    cache = client.cache if use_cache else None
    entry_key = key(scope, provider.identity, body)
    entry = None if cache is None or refresh else await asyncio.to_thread(cache.lookup, entry_key)
    stream = body.get("stream") is True
    if entry is not None:
        await asyncio.to_thread(cache.count_hit, entry)  # type: ignore[union-attr]
        events = entry.records
        if stream:
            return Fixed(200, [(b"content-type", SSE.encode()), (b"x-prosa-cache", b"hit")],
                         b"".join(_sse(e) for e in events))  # fmt: skip
        return Fixed(200, [(b"content-type", JSON.encode()), (b"x-prosa-cache", b"hit")],
                     _dumps(events[-1]["response"]).encode())  # fmt: skip
    if cache is not None:
        await asyncio.to_thread(cache.count, "misses")
    state = b"miss" if cache is not None else b"bypass"
    upstream = _events(provider, {**body, "stream": True})
    recorded: list[dict[str, Any]] = []

    def commit() -> None:
        if cache is not None and recorded and recorded[-1].get("type") in _ENDS:
            chunks = [
                Chunk("", "stop" if i == len(recorded) - 1 else None, None, 0.0, e)
                for i, e in enumerate(recorded)
            ]
            raw = Entry.from_chunks(
                chunks, body["model"], RESPONSES_PROVIDER, str(body.get("input"))[:200]
            ).encode()
            cache._safely(cache.store.put, entry_key, raw)

    if not stream:
        async for event in upstream:
            recorded.append(event)
        if not recorded or recorded[-1].get("type") not in _ENDS:
            raise StreamInterrupted(
                "the upstream's response stream ended before the response completed; retry"
            )
        await asyncio.to_thread(commit)
        return Fixed(200, [(b"content-type", JSON.encode()), (b"x-prosa-cache", state)],
                     _dumps(recorded[-1]["response"]).encode())  # fmt: skip
    try:
        first = await upstream.__anext__()  # an upstream failure is still a proper status
    except StopAsyncIteration:
        raise StreamInterrupted("the upstream's response stream was empty; retry") from None

    async def relay() -> AsyncIterator[bytes]:
        start = time.perf_counter()
        try:
            recorded.append(first)
            yield _sse(first)
            async for event in upstream:
                recorded.append(event)
                yield _sse(event)
            gateway.metrics.answer.observe(time.perf_counter() - start)
            await asyncio.to_thread(commit)
        except Exception as e:  # noqa: BLE001 - the status is sent: an error event
            error = to_http(e, gateway.forward_key)
            yield _sse({"type": "error", "code": error.code, "message": error.message, "param": error.param})
        finally:
            await upstream.aclose()

    headers = {"x-prosa-cache": state.decode(), "cache-control": "no-cache", "x-accel-buffering": "no"}
    return StreamingResponse(relay(), headers=headers, media_type=SSE)


async def _events(provider: Any, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    import openai

    from ..providers.openai import streamed

    started = False
    try:
        client = provider.aclient()
        content = json.dumps(body, separators=(",", ":")).encode()
        events = await client.post("/responses", **streamed(client, content, openai.AsyncStream[object]))
        async with events:
            async for event in events:
                started = True
                if not isinstance(event, dict):
                    raise UpstreamError("the upstream sent a Responses event that is not a JSON object")
                if event.get("type") in ("error", "response.failed"):
                    detail = event.get("message") or (event.get("response") or {}).get("error") or event
                    raise UpstreamError(f"the upstream's response failed: {detail}")
                yield event
    except Exception as e:  # noqa: BLE001
        raise provider.error(e, started) from None


async def retrieve(client: AsyncClient, response_id: str) -> Fixed:
    provider = client.provider_for("passthrough")
    try:
        found = await provider.aclient().get(f"/responses/{response_id}", cast_to=object)
    except Exception as e:  # noqa: BLE001
        error = to_http(provider.error(e))
        return Fixed(error.status, [(b"content-type", JSON.encode())], error.body())
    return Fixed(200, [(b"content-type", JSON.encode())], _dumps(found).encode())
