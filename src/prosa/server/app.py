"""The ASGI app of `prosa serve`: OpenAI-compatible routes, the web page, health, metrics and stats.

``create_app(config)`` builds it; ``app_from_env()`` is the factory each uvicorn worker imports.
A pure-ASGI front (front.py) checks access keys, counts answers by status and sends POST
/v1/chat/completions straight to its endpoint; the other routes, which are not hot, go through Starlette.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import __version__
from .answers import JSON
from .config import GatewayConfig
from .endpoint import ChatEndpoint
from .errors import HTTPError
from .front import CHAT_PATH, AccessLog, Front
from .gateway import Gateway

log = logging.getLogger("prosa.server")
STATIC = Path(__file__).parent / "static"
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
        names = [n for n in await gateway.upstream.models(_bearer(request)) if tenant.allows(n)]
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
        text = gateway.metrics.prometheus(await gateway.stats.store(), gateway.tenants.all)
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
            data = await gateway.stats.tenant(shown)
            if tenant.admin:  # the dashboard's tenant picker lists every tenant for an admin
                data["tenants"] = [t.name for t in gateway.tenants.all]
            return _json(data)
        return _json(await gateway.stats.overview(gateway.tenants))

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
        sampler = asyncio.create_task(gateway.stats.sample_forever())
        warming = asyncio.get_running_loop().run_in_executor(None, gateway.upstream.warm)
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
