"""`prosa serve`: an OpenAI-compatible caching gateway, with a web chat page and a cache dashboard.

The web stack (starlette, uvicorn) is imported only here, never by the library or the CLI's other commands.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GatewayConfig", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "GatewayConfig":
        from .config import GatewayConfig

        return GatewayConfig
    raise AttributeError(f"module 'prosa.server' has no attribute {name!r}")
