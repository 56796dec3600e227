"""POST /v1/chat/completions as a plain ASGI callable: the hot path, with no framework in between.

It reads the headers once, reads the body under the size limit, and hands it to the Gateway.
Every failure becomes an OpenAI-shaped error answer; nothing a client sends can produce a 500.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.types import Receive

from ..errors import InvalidRequest
from .answers import JSON, Answer, ClientGone, Fixed
from .errors import HTTPError, to_http
from .gateway import Gateway
from .security import RequestHeaders
from .tenants import Tenant

log = logging.getLogger("prosa.server")
_JSON_HEADERS = [(b"content-type", JSON.encode())]


class ChatEndpoint:
    def __init__(self, gateway: Gateway, max_body: int) -> None:
        self.gateway = gateway
        self.max_body = max_body

    async def answer(self, receive: Receive, headers: RequestHeaders, tenant: Tenant) -> Answer:
        """The answer to send (already decided, or a stream about to start)."""
        try:
            body = await self.read_body(receive, headers.content_length)
            return await self.gateway.chat(body, headers, tenant, receive)
        except ClientGone:
            return Fixed(499, [], b"")  # nobody is listening; nginx's "client closed request"
        except Exception as e:  # noqa: BLE001 - every failure becomes an OpenAI-shaped answer
            return error_answer(to_http(e, self.gateway.forward_key))

    async def read_body(self, receive: Receive, length: bytes | None) -> bytes:
        """The body, refused (413) past the limit: at once when its declared length says so."""
        limit = self.max_body
        if length is not None and length.isdigit() and int(length) > limit:
            raise too_large(limit)
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            body += message.get("body", b"")
            if len(body) > limit:
                raise too_large(limit)
            more = message.get("more_body", False)
        return body


async def json_object(request: Request, limit: int) -> dict[str, Any]:
    """A Starlette route's JSON object body, refused past ``limit`` bytes (413) or malformed (400)."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise too_large(limit)
    body = b""
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise too_large(limit)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # also a body that is not UTF-8, or nested too deep
        raise HTTPError(400, "the request body is not valid JSON", code="invalid_json") from None
    if not isinstance(data, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return data


def error_answer(error: HTTPError) -> Fixed:
    if error.status >= 500 and error.code != "not_cached":  # the gateway or its upstream failed
        log.warning("answered %d: %s", error.status, error.message)
    headers = _JSON_HEADERS if not error.headers else [*_JSON_HEADERS, *error.headers.items()]
    return Fixed(error.status, headers, error.body())


def too_large(limit: int) -> HTTPError:
    return HTTPError(
        413,
        f"request body over {limit} bytes; send less, or start the gateway with a larger --max-body",
        code="request_too_large",
    )
