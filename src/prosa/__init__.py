"""prosa: talk to LLMs from Python, the shell, HTTP and LangChain, with a cache that replays streams."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "AsyncChatStream",
    "AsyncClient",
    "ChatRequest",
    "ChatStream",
    "Chunk",
    "Client",
    "Message",
    "ProsaError",
    "Reply",
    "Usage",
    "__version__",
]

_WHERE = {
    "AsyncClient": "client",
    "Client": "client",
    "ProsaError": "errors",
    "Chunk": "reply",
    "Reply": "reply",
    "Usage": "reply",
    "ChatRequest": "request",
    "Message": "request",
    "AsyncChatStream": "stream",
    "ChatStream": "stream",
}


def __getattr__(name: str) -> object:
    # Public names load on first use, so `prosa --version` and a cache hit import only what they need.
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'prosa' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted(__all__)
