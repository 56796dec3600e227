"""POST /v1/embeddings: OpenAI's embeddings endpoint, each input's vector cached on its own.

The body is validated by the same ``EmbedRequest`` as ``Client.embed``; the work (store look-ups,
the local model, the upstream call) runs off the event loop. ``x-prosa-cache`` says ``hit`` (every
input was cached), ``miss`` (none was) or ``partial``, and ``x-prosa-cached-inputs`` how many were.
"""

from __future__ import annotations

import asyncio
import base64
from typing import TYPE_CHECKING, Any

from ..embeddings.request import LOCAL_EMBED_NAMES
from ..errors import InvalidRequest
from .answers import JSON, Fixed
from .endpoint import json_object
from .errors import to_http
from .openai_json import dumps_ascii as _dumps
from .security import RequestHeaders

if TYPE_CHECKING:
    from starlette.requests import Request

    from .gateway import Gateway


async def embeddings(gateway: Gateway, request: Request) -> Fixed:
    try:
        tenant = request.scope["prosa.tenant"]
        tag, client, scope = gateway.admission.admit(RequestHeaders(request.scope["headers"]), tenant)
        data = await json_object(request, gateway.config.max_body)
        if "input" not in data:
            raise InvalidRequest("input is required: a string or a list of strings", "input")
        params = {k: v for k, v in data.items() if k not in ("input", "model")}
        model = data.get("model")
        if not isinstance(model, str) or not model.strip():
            raise InvalidRequest("model is required, e.g. 'local' or 'text-embedding-3-small'", "model")
        gateway.admission.allow_model(tenant, model)
        cache_control = (request.headers.get("cache-control") or "").lower()
        use_cache, refresh = "no-store" not in cache_control, "no-cache" in cache_control
        local = model.strip().lower() in LOCAL_EMBED_NAMES
        unverified = gateway.upstream.unverified(tag, local)
        # A caller's key the upstream never accepted must not read vectors others paid for.
        embed_request = client.embed_request(data["input"], model, params)
        # In the caller's scope (its tenant, and x-prosa-namespace): never another tenant's vectors.
        result = await asyncio.to_thread(
            client.embeddings().embed, embed_request, use_cache=use_cache, refresh=refresh or unverified,
            scope=scope,
        )  # fmt: skip
        if unverified:
            gateway.upstream.verify(tag)
    except Exception as e:  # noqa: BLE001 - every failure is an OpenAI-shaped answer
        error = to_http(e, gateway.forward_key)
        return Fixed(error.status, [(b"content-type", JSON.encode())], error.body())
    n = len(result)
    state = b"hit" if result.cached == n else b"miss" if result.cached == 0 else b"partial"
    body = render(result, params.get("encoding_format") or "float")
    headers = [(b"content-type", JSON.encode()), (b"x-prosa-cache", state),
               (b"x-prosa-cached-inputs", b"%d" % result.cached)]  # fmt: skip
    return Fixed(200, headers, body)


def render(result: Any, encoding_format: str) -> bytes:
    """The OpenAI list body, written piece by piece: thousands of vectors must not cost a json.dumps each.

    base64 (what the openai SDK asks for) encodes the stored float32 bytes as they are."""
    if encoding_format == "base64":
        values = [b'"' + base64.b64encode(blob) + b'"' for blob in result.blobs]
    else:
        values = [_dumps(row).encode() for row in result.vectors]
    parts = [b'{"object":"embedding","index":%d,"embedding":%s}' % (i, v) for i, v in enumerate(values)]
    t = result.prompt_tokens
    tail = b'],"model":%s,"usage":{"prompt_tokens":%d,"total_tokens":%d}}' % (
        _dumps(result.model).encode(),
        t,
        t,
    )
    return b'{"object":"list","data":[' + b",".join(parts) + tail
