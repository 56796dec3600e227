"""ProsaEmbeddings: LangChain's Embeddings over ``Client.embed``, each text's vector cached on its own.

LangChain's ``CacheBackedEmbeddings`` needs a byte store and caches documents only; here queries
and documents share prosa's cache, and ``model="local"`` embeds offline with the bundled MiniLM.
"""

from __future__ import annotations

from typing import Any

from langchain_core.embeddings import Embeddings

from ...client import AsyncClient, Client
from ...config import load_settings


class ProsaEmbeddings(Embeddings):
    """``ProsaEmbeddings(model="local", cache="sqlite")``; any other model goes to the OpenAI-compatible
    server at ``base_url`` (``dimensions`` and any other field are sent and keyed)."""

    def __init__(
        self,
        model: str = "local",
        *,
        cache: Any = "memory",
        base_url: str | None = None,
        api_key: str | None = None,
        dimensions: int | None = None,
        **params: Any,
    ) -> None:
        settings = load_settings(openai_api_key=api_key, openai_base_url=base_url)
        self.model = model
        self.params = {**params, **({"dimensions": dimensions} if dimensions is not None else {})}
        self._client = Client(cache=cache, settings=settings)
        self._aclient = AsyncClient(cache=self._client.cache, settings=settings)  # one store for both

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._client.embed(list(texts), model=self.model, **self.params).vectors  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        result = await self._aclient.embed(list(texts), model=self.model, **self.params)
        return result.vectors  # type: ignore[no-any-return]

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_documents([text]))[0]
