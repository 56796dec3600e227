"""POST /v1/responses and GET /v1/responses/{id}: the Responses API, answered through Chat Completions.

The request is translated (prosa.responses.translate) and goes through the same pipeline as a chat
completion — the same cache entries, single-flight and upstreams — and the chunks, fresh or cached,
are rendered as Responses events or a whole ``response`` by one state machine (prosa.responses.render).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.responses import StreamingResponse

from ..cache.controls import cache_control
from ..errors import InvalidRequest
from ..responses import store
from ..responses.render import ResponseBuilder
from ..responses.translate import input_messages, to_chat
from . import responses_passthrough as passthrough
from .answers import JSON, SSE, ClientGone, Fixed
from .endpoint import json_object
from .errors import HTTPError, to_http
from .openai_json import dumps_ascii as _dumps
from .relay import next_chunk, until_disconnect
from .security import RequestHeaders

if TYPE_CHECKING:
    from starlette.requests import Request

    from ..stream import AsyncChatStream
    from .gateway import Gateway


def _error(e: BaseException, gateway: Gateway) -> Fixed:
    error = to_http(e, gateway.forward_key)
    return Fixed(error.status, [(b"content-type", JSON.encode())], error.body())


def _sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(b"event: %s\ndata: %s\n\n" % (e["type"].encode(), _dumps(e).encode()) for e in events)


async def create(gateway: Gateway, request: Request) -> Any:
    try:
        tenant = request.scope["prosa.tenant"]
        headers = RequestHeaders(request.scope["headers"])
        tag, client, scope = gateway.admission.admit(headers, tenant)
        body = await json_object(request, gateway.config.max_body)
        model = body.get("model")
        if not isinstance(model, str) or not model.strip():
            raise InvalidRequest("model is required: a non-empty string such as 'local'", "model")
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise InvalidRequest(f"stream must be true or false (got {stream!r})", "stream")
        gateway.admission.require_served(model)
        gateway.admission.allow_model(tenant, model)
        directives = cache_control(headers.cache_control.decode("latin-1") if headers.cache_control else None)
        refresh, use_cache = directives.refresh, directives.use_cache
        if passthrough.passes_through(gateway, model):
            return await passthrough.create(gateway, client, body, refresh, use_cache, scope)
        cache = client.cache
        history: list[dict[str, Any]] = []
        previous = body.get("previous_response_id")
        if previous is not None:
            if not isinstance(previous, str) or cache is None:
                raise InvalidRequest(
                    "previous_response_id needs a stored response (and a gateway cache)",
                    "previous_response_id",
                )
            found = await asyncio.to_thread(store.load, cache, scope, previous)
            if found is None:
                raise HTTPError(
                    404, f"no stored response {previous!r}", param="previous_response_id", code="not_found"
                )
            history = found[1]
        messages, fields = to_chat(body, history)
        conversation = history + input_messages(body.get("input"))
        call = client.prepare(messages, model, fields, refresh, use_cache, scope=scope)
        hit, refresh = await client.alook(call, refresh, directives.max_age, directives.only_if_cached)
        builder = ResponseBuilder(body, call.model_name, previous)
        keep = body.get("store", True) is not False and cache is not None

        def finished() -> None:
            if keep:
                store.save(cache, scope, builder.response(), conversation + builder.assistant_turn())

        if hit is not None:
            records = hit.entry.records
            headers = [(b"content-type", (SSE if stream else JSON).encode()), (b"x-prosa-cache", b"hit")]
            if stream:
                events = [e for data in records for e in builder.feed(data)] + builder.end()
                answer = _sse(events)
            else:
                answer = _dumps(builder.whole(records)).encode()
            await asyncio.to_thread(finished)
            return Fixed(200, headers, answer)
        state = "miss" if call.key is not None else "bypass"
        chat = client.ask_model(call, refresh)
        if not stream:
            records = await until_disconnect(_records(chat), request.receive, gateway.metrics)
            answer = _dumps(builder.whole(records)).encode()
            await asyncio.to_thread(finished)
            return Fixed(200, [(b"content-type", JSON.encode()), (b"x-prosa-cache", state.encode())], answer)
        first = await until_disconnect(next_chunk(chat), request.receive, gateway.metrics)
    except ClientGone:
        return Fixed(499, [], b"")  # nobody is listening
    except Exception as e:  # noqa: BLE001 - every failure is an OpenAI-shaped answer
        return _error(e, gateway)
    headers = {"x-prosa-cache": state, "cache-control": "no-cache", "x-accel-buffering": "no"}
    return StreamingResponse(_relay(gateway, chat, first, builder, finished), headers=headers, media_type=SSE)


async def _records(chat: AsyncChatStream) -> list[dict[str, Any]]:
    return [chunk.data async for chunk in chat]


async def _relay(
    gateway: Gateway, chat: AsyncChatStream, first: Any, builder: ResponseBuilder, finished: Any
) -> AsyncIterator[bytes]:
    """A miss as Responses events, sent as each chunk arrives; cancelled when the client leaves."""
    start = time.perf_counter()
    try:
        if first is not None:
            yield _sse(builder.feed(first.data))
            async for chunk in chat:
                events = builder.feed(chunk.data)
                if events:
                    yield _sse(events)
        yield _sse(builder.end())
        gateway.metrics.answer.observe(time.perf_counter() - start)
        await asyncio.to_thread(finished)
    except (asyncio.CancelledError, GeneratorExit):
        gateway.metrics.streams_cancelled += 1
        raise
    except Exception as e:  # noqa: BLE001 - the status is sent: an error event, as OpenAI does
        error = to_http(e, gateway.forward_key)
        event = {"type": "error", "code": error.code, "message": error.message, "param": error.param,
                 "sequence_number": builder.sequence}  # fmt: skip
        yield _sse([event])
    finally:
        await chat.aclose()


async def retrieve(gateway: Gateway, request: Request) -> Fixed:
    response_id = request.path_params["id"]
    try:
        _, client, scope = gateway.admission.admit(
            RequestHeaders(request.scope["headers"]), request.scope["prosa.tenant"]
        )
    except Exception as e:  # noqa: BLE001
        return _error(e, gateway)
    if passthrough.passes_through(gateway, "upstream"):  # the upstream keeps its own responses
        return await passthrough.retrieve(client, response_id)
    cache = gateway.cache
    found = await asyncio.to_thread(store.load, cache, scope, response_id) if cache is not None else None
    if found is None:
        return _error(HTTPError(404, f"no stored response {response_id!r}", code="not_found"), gateway)
    return Fixed(200, [(b"content-type", JSON.encode())], _dumps(found[0]).encode())
