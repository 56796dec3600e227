"""LangChain integration: prosa's caches under ``set_llm_cache``, and the ``ChatProsa`` chat model.

Import from :mod:`prosa.langchain`. The caches and the chat model load on first use, so using
one does not import the other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import lazy_exports

if TYPE_CHECKING:
    from .caches import InMemoryCache, RedisCache, SQLiteCache, StoreCache
    from .chat_model import ChatProsa
    from .embeddings import ProsaEmbeddings

__all__ = ["ChatProsa", "InMemoryCache", "ProsaEmbeddings", "RedisCache", "SQLiteCache", "StoreCache"]

_WHERE = {
    "InMemoryCache": "caches",
    "SQLiteCache": "caches",
    "RedisCache": "caches",
    "StoreCache": "caches",
    "ChatProsa": "chat_model",
    "ProsaEmbeddings": "embeddings",
}

__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
