"""prosa: talk to LLMs from Python, the shell, HTTP and LangChain, with a cache that replays streams."""

from __future__ import annotations

from ._lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
