"""The pure-ASGI front of the gateway, before routing, and its access log.

The front checks browser safety (Host, Origin, Content-Type), finds the caller's tenant by its key,
counts answers by status and sends POST /v1/chat/completions straight to its endpoint; everything
else goes on to the Starlette app.
"""

from __future__ import annotations

import sys
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .answers import Fixed
from .config import GatewayConfig
from .endpoint import ChatEndpoint, error_answer
from .errors import HTTPError
from .gateway import Gateway
from .security import (
    BrowserGuard,
    RequestHeaders,
    cors_headers,
    host_name,
    is_json,
    preflight_headers,
)

CHAT_PATH = "/v1/chat/completions"
PUBLIC = ("/", "/healthz", "/favicon.ico")  # everything else needs a key when keys are set


class Front:
    """Pure ASGI, before routing: browser safety (Host, Origin, Content-Type), the caller's tenant,
    answers counted by status, and the hot route straight to its endpoint."""

    def __init__(self, app: ASGIApp, gateway: Gateway, chat: ChatEndpoint, config: GatewayConfig) -> None:
        self.app = app
        self.gateway = gateway
        self.chat = chat
        self.tenants = gateway.tenants
        self.guard = BrowserGuard(config.host, config.allowed_hosts, config.cors_origins)
        # With --forward-key, Authorization carries the upstream key, so the gateway's key moves aside.
        self.forward_key = gateway.forward_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # lifespan
            return
        headers = RequestHeaders(scope["headers"])
        refused = self._refused(scope, headers)
        if refused is not None:
            self.gateway.metrics.request(refused.status_code)
            await refused(scope, receive, send)
            return
        origin = headers.origin
        if origin is not None and not self.guard.same_origin(origin, headers.host):
            send = _with_cors(send, origin)  # a listed origin (others were refused)
        tenant = scope["prosa.tenant"]
        tenant.counters.requests += 1
        metrics = self.gateway.metrics
        if scope["method"] == "POST" and scope["path"] == CHAT_PATH:
            answer = await self.chat.answer(receive, headers, tenant)
            metrics.request(answer.status_code)
            await answer(scope, receive, send)
            return

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                metrics.request(message["status"])
            await send(message)

        await self.app(scope, receive, counted)

    def _refused(self, scope: Scope, headers: RequestHeaders) -> Fixed | None:
        """The answer refusing this request (421, 403, 415, 401; 204 to a CORS preflight), or None.

        On the way, the request's tenant goes in ``scope["prosa.tenant"]``."""
        guard = self.guard
        if not guard.host_ok(headers.host):
            host = (headers.host or b"").decode("latin-1")[:80]
            return _refusal(421, f"this gateway does not serve the host {host!r}; start it with --allowed-host "
                            f"{host_name(host) or 'NAME'} to allow it", "misdirected_request")  # fmt: skip
        origin = headers.origin
        method = scope["method"]
        if origin is not None and not guard.same_origin(origin, headers.host):
            if not guard.listed(origin):
                shown = origin.decode("latin-1")[:80]
                return _refusal(403, f"requests from the web origin {shown!r} are refused; start the gateway "
                                f"with --cors-origin {shown} to allow that page", "origin_not_allowed")  # fmt: skip
            if method == "OPTIONS":
                return Fixed(204, preflight_headers(origin), b"")
        path = scope["path"]
        if method == "POST" and path[:4] == "/v1/" and not is_json(headers.content_type):
            sent = (headers.content_type or b"none").decode("latin-1")[:60]
            return _refusal(415, f"POST {path} needs Content-Type: application/json (got {sent})",
                            "unsupported_media_type")  # fmt: skip
        tenants = self.tenants
        tenant = tenants.open
        if tenants.required:
            if path != CHAT_PATH and (path in PUBLIC or path[:8] == "/static/"):
                scope["prosa.tenant"] = tenant
                return None
            if self.forward_key:
                given = headers.prosa_key or b""
            else:
                given = headers.bearer() or b""
            found = tenants.find(given)
            if found is None:
                where = "an X-Prosa-Key header" if self.forward_key else "an Authorization: Bearer header"
                return _refusal(401, f"missing or wrong access key: send one of the gateway's keys in {where}",
                                "invalid_api_key", "authentication_error")  # fmt: skip
            tenant = found
        elif self.forward_key:
            bearer = headers.bearer()
            if bearer:
                tenant = tenants.caller(bearer.decode("latin-1"))
        scope["prosa.tenant"] = tenant
        return None


def _refusal(status: int, message: str, code: str, kind: str = "invalid_request_error") -> Fixed:
    return error_answer(HTTPError(status, message, kind, None, code))


def _with_cors(send: Send, origin: bytes) -> Send:
    extra = cors_headers(origin)

    async def send_with_cors(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return send_with_cors


class AccessLog:
    """One line on stderr per request, when it is answered: method, path, status, cache result, time.

    Nothing that identifies a caller (no address, no header, no query string) is written.
    """

    def __init__(self, app: Front) -> None:
        self.app = app
        self.gateway = app.gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status, cache = 0, ""

        async def watched(message: Message) -> None:
            nonlocal status, cache
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"x-prosa-cache":
                        cache = " " + value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            ms = (time.perf_counter() - start) * 1000
            line = f"prosa: {scope['method']} {scope['path']} {status or '-'}{cache} {ms:.0f} ms\n"
            sys.stderr.write(line)
            sys.stderr.flush()
