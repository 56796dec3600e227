"""The ASGI app of `prosa serve`: OpenAI-compatible routes, the web page, health, metrics and stats.

``create_app(config)`` builds it; ``app_from_env()`` is the factory each uvicorn worker imports.
A pure-ASGI front checks access keys, counts answers by status and sends POST /v1/chat/completions
straight to its endpoint; the other routes, which are not hot, go through Starlette.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from .config import GatewayConfig
from .endpoint import ChatEndpoint, error_answer
from .errors import HTTPError
from .gateway import JSON, Fixed, Gateway
from .security import (
    BrowserGuard,
    RequestHeaders,
    cors_headers,
    host_name,
    is_json,
    preflight_headers,
)

log = logging.getLogger("prosa.server")
STATIC = Path(__file__).parent / "static"
CHAT_PATH = "/v1/chat/completions"
PUBLIC = ("/", "/healthz", "/favicon.ico")  # everything else needs a key when keys are set
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}  # fmt: skip


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, separators=(",", ":")).encode(), status, media_type=JSON)


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization")
    if value and value[:7].lower() == "bearer ":
        return value[7:].strip() or None
    return None


def _forbidden(message: str) -> HTTPError:
    return HTTPError(403, message, "permission_error", None, "forbidden")


def create_app(config: GatewayConfig | None = None) -> Front | AccessLog:
    """The gateway app for this config (default: the one `prosa serve` put in the environment)."""
    config = config or GatewayConfig.from_env()
    gateway = Gateway(config)

    async def chat_other_method(request: Request) -> Response:
        raise HTTPException(405)

    async def models(request: Request) -> Response:
        tenant = request.scope["prosa.tenant"]
        names = [n for n in await gateway.models(_bearer(request)) if tenant.allows(n)]
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "prosa" if n == "local" else "upstream"}
                for n in names]  # fmt: skip
        return _json({"object": "list", "data": data})

    async def embeddings(request: Request) -> Any:
        from .embeddings_route import embeddings as answer

        return await answer(gateway, request)

    async def responses(request: Request) -> Any:
        from .responses_route import create

        return await create(gateway, request)

    async def stored_response(request: Request) -> Any:
        from .responses_route import retrieve

        return await retrieve(gateway, request)

    async def healthz(request: Request) -> Response:
        # keys_required: the web page says so before its first request fails.
        return _json({"status": "ok", "version": __version__, "keys_required": gateway.tenants.required})

    async def metrics(request: Request) -> Response:
        if not request.scope["prosa.tenant"].admin:
            raise _forbidden("/metrics shows every tenant's numbers: use a key with admin = true")
        text = gateway.metrics.prometheus(await gateway.cache_stats(), gateway.tenants.all)
        return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    async def stats(request: Request) -> Response:
        tenant = request.scope["prosa.tenant"]
        wanted = request.query_params.get("tenant")
        if wanted or not tenant.admin:  # one tenant's own numbers (an admin may ask for any tenant's)
            if wanted and wanted != tenant.name and not tenant.admin:
                raise _forbidden("a key sees only its own tenant's numbers")
            shown = tenant if not wanted else next((t for t in gateway.tenants.all if t.name == wanted), None)
            if shown is None:
                raise HTTPError(404, f"no tenant named {wanted!r}", code="not_found")
            data = await gateway.tenant_stats(shown)
            if tenant.admin:  # the dashboard's tenant picker lists every tenant for an admin
                data["tenants"] = [t.name for t in gateway.tenants.all]
            return _json(data)
        store = await gateway.cache_stats()
        m = gateway.metrics
        return _json({
            "cache": store,
            "gateway": {**gateway.own_counters(), "requests": sum(m.status.values()),
                        "uptime_s": round(time.time() - m.started, 1), "pid": os.getpid()},
            "series": gateway.series.with_now(store if store is not None else gateway.own_counters()),
            "interval_s": config.stats_interval,
            "tenants": [t.name for t in gateway.tenants.all] if gateway.tenants.required else [],
        })  # fmt: skip

    async def personas(request: Request) -> Response:
        # The web page's persona picker: named system prompts with their defaults (prosa personas).
        from ..grounding.personas import list_personas

        found = await asyncio.to_thread(list_personas)
        return _json({"data": [
            {"name": p.name, "description": p.description, "system": p.system, "model": p.model,
             "temperature": p.temperature, "max_tokens": p.max_tokens}
            for p in found
        ]})  # fmt: skip

    pages = {p.name: (p.read_bytes(), _TYPES.get(p.suffix, "application/octet-stream"))
             for p in STATIC.iterdir() if p.is_file()}  # fmt: skip

    async def static(request: Request) -> Response:
        found = pages.get(request.path_params.get("name", "index.html"))
        if found is None:
            raise HTTPException(404)
        return Response(found[0], media_type=found[1], headers={"cache-control": "no-cache"})

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPError)
        return Response(exc.body(), exc.status, media_type=JSON)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        what = "method not allowed" if status == 405 else "no such route"
        error = HTTPError(status, f"{what}: {request.method} {request.url.path}", code="not_found")
        return Response(error.body(), status, media_type=JSON)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sampler = asyncio.create_task(gateway.sample_forever())
        warming = asyncio.get_running_loop().run_in_executor(None, gateway.warm)
        try:
            yield
        finally:
            sampler.cancel()
            warming.cancel()
            gateway.close()

    app = Starlette(
        routes=[
            Route(CHAT_PATH, chat_other_method, methods=["GET", "PUT", "PATCH", "DELETE"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/v1/responses", responses, methods=["POST"]),
            Route("/v1/responses/{id}", stored_response, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/prosa/stats", stats, methods=["GET"]),
            Route("/prosa/personas", personas, methods=["GET"]),
            Route("/", static, methods=["GET"]),
            Route("/static/{name}", static, methods=["GET"]),
        ],
        exception_handlers={HTTPException: not_found, HTTPError: refused},
        lifespan=lifespan,
    )
    front = Front(app, gateway, ChatEndpoint(gateway, config.max_body), config)
    return AccessLog(front) if config.access_log else front


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


def app_from_env() -> Front | AccessLog:
    """The factory uvicorn imports in each worker: the config comes from `prosa serve` via the environment."""
    logger = logging.getLogger("prosa")
    if not logger.handlers:  # a spawned worker: `prosa`'s logging setup did not run here
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("prosa: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(getattr(logging, os.environ.get("PROSA_LOG", "WARNING").upper(), logging.WARNING))
        logger.propagate = False
    return create_app(GatewayConfig.from_env())
