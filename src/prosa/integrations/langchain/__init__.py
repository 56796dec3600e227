"""LangChain integration: prosa's caches under ``set_llm_cache``, and the ``ChatProsa`` chat model.

Import from :mod:`prosa.langchain`. The caches and the chat model load on first use, so using
one does not import the other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .caches import InMemoryCache, RedisCache, SQLiteCache, StoreCache
    from .chat_model import ChatProsa

__all__ = ["ChatProsa", "InMemoryCache", "RedisCache", "SQLiteCache", "StoreCache"]

_WHERE = {
    "InMemoryCache": "caches",
    "SQLiteCache": "caches",
    "RedisCache": "caches",
    "StoreCache": "caches",
    "ChatProsa": "chat_model",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted(__all__)
