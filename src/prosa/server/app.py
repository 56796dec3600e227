"""The ASGI app of `prosa serve`: OpenAI-compatible routes, the web page, health, metrics and stats.

``create_app(config)`` builds it; ``app_from_env()`` is the factory each uvicorn worker imports.
A pure-ASGI front checks access keys, counts answers by status and sends POST /v1/chat/completions
straight to its endpoint; the other routes, which are not hot, go through Starlette.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
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
from .gateway import JSON, Gateway

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


def create_app(config: GatewayConfig | None = None) -> Front | AccessLog:
    """The gateway app for this config (default: the one `prosa serve` put in the environment)."""
    config = config or GatewayConfig.from_env()
    gateway = Gateway(config)

    async def chat_other_method(request: Request) -> Response:
        raise HTTPException(405)

    async def models(request: Request) -> Response:
        names = await gateway.models(_bearer(request))
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "prosa" if n == "local" else "upstream"}
                for n in names]  # fmt: skip
        return _json({"object": "list", "data": data})

    async def healthz(request: Request) -> Response:
        return _json({"status": "ok", "version": __version__})

    async def metrics(request: Request) -> Response:
        text = gateway.metrics.prometheus(await gateway.cache_stats())
        return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    async def stats(request: Request) -> Response:
        store = await gateway.cache_stats()
        m = gateway.metrics
        return _json({
            "cache": store,
            "gateway": {**gateway.own_counters(), "requests": sum(m.status.values()),
                        "uptime_s": round(time.time() - m.started, 1), "pid": os.getpid()},
            "series": gateway.series.with_now(store if store is not None else gateway.own_counters()),
            "interval_s": config.stats_interval,
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
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/prosa/stats", stats, methods=["GET"]),
            Route("/prosa/personas", personas, methods=["GET"]),
            Route("/", static, methods=["GET"]),
            Route("/static/{name}", static, methods=["GET"]),
        ],
        exception_handlers={HTTPException: not_found},
        lifespan=lifespan,
    )
    front = Front(app, gateway, ChatEndpoint(gateway, config.max_body), config.keys)
    return AccessLog(front) if config.access_log else front


class Front:
    """Pure ASGI, before routing: access keys (constant-time), answers counted by status, the hot route."""

    def __init__(self, app: ASGIApp, gateway: Gateway, chat: ChatEndpoint, keys: list[str]) -> None:
        self.app = app
        self.gateway = gateway
        self.chat = chat
        self.keys = [k.encode() for k in keys]
        # With --forward-key, Authorization carries the upstream key, so the gateway's key moves aside.
        self.header = b"x-prosa-key" if gateway.forward_key else b"authorization"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # lifespan
            return
        metrics = self.gateway.metrics
        if self.keys and not self._allowed(scope):
            metrics.request(401)
            where = (
                "an X-Prosa-Key header"
                if self.header == b"x-prosa-key"
                else "an Authorization: Bearer header"
            )
            error = HTTPError(401, f"missing or wrong access key: send one of the gateway's keys in {where}",
                              "authentication_error", None, "invalid_api_key")  # fmt: skip
            await error_answer(error)(scope, receive, send)
            return
        if scope["method"] == "POST" and scope["path"] == CHAT_PATH:
            answer = await self.chat.answer(scope, receive)
            metrics.request(answer.status_code)
            await answer(scope, receive, send)
            return

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                metrics.request(message["status"])
            await send(message)

        await self.app(scope, receive, counted)

    def _allowed(self, scope: Scope) -> bool:
        path = scope["path"]
        if path in PUBLIC or path.startswith("/static/"):
            return True
        given = b""
        for name, value in scope["headers"]:
            if name == self.header:
                given = value
                break
        if self.header == b"authorization":
            given = given[7:].strip() if given[:7].lower() == b"bearer " else b""
        ok = False
        for key in self.keys:  # compare with every key, so timing tells nothing about which matched
            ok |= hmac.compare_digest(given, key)
        return ok


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
