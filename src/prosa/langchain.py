"""prosa for LangChain: ``from prosa.langchain import InMemoryCache, SQLiteCache, RedisCache, ChatProsa``.

- ``set_llm_cache(SQLiteCache(database_path="cache.db"))``: LangChain's cache on prosa's stores.
- ``ChatProsa(model="local", cache_store="sqlite")``: a chat model whose streams are cached too,
  with ``bind_tools`` and ``with_structured_output`` (tool calls cached and replayed like text). With
  no ``cache_store``, a prosa cache set with ``set_llm_cache`` serves it, streams included.
- ``ProsaEmbeddings(model="local", cache="sqlite")``: LangChain embeddings, each text cached on its own.

Needs ``langchain-core`` (``pip install 'prosa[langchain]'``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._lazy import lazy_exports

if TYPE_CHECKING:
    from .integrations.langchain import (
        ChatProsa,
        InMemoryCache,
        ProsaEmbeddings,
        RedisCache,
        SQLiteCache,
        StoreCache,
    )

__all__ = ["ChatProsa", "InMemoryCache", "ProsaEmbeddings", "RedisCache", "SQLiteCache", "StoreCache"]


# Resolved on first use, so importing the caches does not import the chat model's machinery.
_export, __dir__ = lazy_exports(__name__, dict.fromkeys(__all__, ".integrations.langchain"))


def __getattr__(name: str) -> Any:
    try:
        return _export(name)
    except ModuleNotFoundError as e:
        if not (e.name or "").startswith("langchain"):
            raise
        # Still a ModuleNotFoundError (code that catches ImportError keeps working), naming the extra.
        raise ModuleNotFoundError(
            f"prosa.langchain.{name} needs LangChain ({e.name} is not installed): "
            "pip install 'prosa[langchain]'",
            name=e.name,
        ) from None
