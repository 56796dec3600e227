"""`prosa serve`: an OpenAI-compatible caching gateway, with a web chat page and a cache dashboard.

The web stack (starlette, uvicorn) is imported only here, never by the library or the CLI's other commands.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_WHERE = {"GatewayConfig": "config", "create_app": "app"}

__all__ = ["GatewayConfig", "create_app"]

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
