"""Cached embeddings: ``Client.embed``, ``POST /v1/embeddings``, ``prosa embed``, LangChain's Embeddings."""

from __future__ import annotations

from .._lazy import lazy_exports

__all__ = ["EmbedRequest", "EmbeddingService", "Embeddings"]

__getattr__, __dir__ = lazy_exports(
    __name__, {"EmbedRequest": "request", "EmbeddingService": "service", "Embeddings": "service"}
)
