"""The Provider protocol: a request in, a stream of chunks out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Protocol, runtime_checkable

from ..reply import Chunk
from ..request import ChatRequest


@runtime_checkable
class Provider(Protocol):
    """Something that answers a ChatRequest as a stream of chunks.

    ``kind`` is ``"local"`` or ``"openai"``; ``identity`` names the model server (kind and base URL,
    never a key) and is part of the cache key. A complete stream ends with a chunk that has a
    ``finish_reason``; anything else is an interrupted stream.
    """

    kind: str
    identity: str

    def model_name(self, request: ChatRequest) -> str:
        """The model name to report for this request."""
        ...

    def stream(self, request: ChatRequest) -> Iterator[Chunk]: ...

    def astream(self, request: ChatRequest) -> AsyncIterator[Chunk]: ...

    def list_models(self) -> list[str]: ...
