"""Reply, Chunk and Usage: what a model sends back, streamed or whole."""

from __future__ import annotations

from typing import Any

from ._record import Record


class Usage(Record):
    """Token counts of one answer."""

    __slots__ = ("prompt_tokens", "completion_tokens")

    def __init__(self, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


class Chunk(Record):
    """One piece of a streamed answer.

    The last chunk of a complete stream carries ``finish_reason`` (and ``usage`` when known).
    ``offset_ms`` is when the chunk arrived, counted from the start of the request.
    """

    __slots__ = ("text", "finish_reason", "usage", "offset_ms")

    def __init__(
        self, text: str, finish_reason: str | None = None, usage: Usage | None = None, offset_ms: float = 0.0
    ) -> None:
        self.text = text
        self.finish_reason = finish_reason
        self.usage = usage
        self.offset_ms = offset_ms


class Reply(Record):
    """A whole answer.

    ``cached`` is False for a fresh answer, True when it was replayed from the cache, and
    ``"semantic"`` when it was the cached answer to another question that means the same (a
    semantic hit; ``similarity`` is then the cosine similarity of the two questions, and ``key``
    the key of the entry served, and ``semantic_score`` the verifier's score in [0, 1]: how well the
    words the two questions do not share align; 1.0 when they differ only in wording).
    ``similarity`` and ``semantic_score`` are None otherwise.
    ``latency_ms`` is the time this call took (a cache hit takes microseconds). ``chunks`` is how
    many chunks the answer was streamed in; ``key`` is its cache key (None without a cache).
    """

    __slots__ = (
        "text", "model", "provider", "finish_reason", "usage", "cached", "latency_ms", "chunks", "key", "similarity",
        "semantic_score",
    )  # fmt: skip

    def __init__(
        self,
        text: str,
        model: str,
        provider: str,
        finish_reason: str | None,
        usage: Usage | None = None,
        cached: bool | str = False,
        latency_ms: float = 0.0,
        chunks: int = 0,
        key: str | None = None,
        similarity: float | None = None,
        semantic_score: float | None = None,
    ) -> None:
        self.text = text
        self.model = model
        self.provider = provider
        self.finish_reason = finish_reason
        self.usage = usage if usage is not None else Usage()
        self.cached = cached
        self.latency_ms = latency_ms
        self.chunks = chunks
        self.key = key
        self.similarity = similarity
        self.semantic_score = semantic_score

    def to_dict(self) -> dict[str, Any]:
        out = {
            "text": self.text,
            "model": self.model,
            "provider": self.provider,
            "finish_reason": self.finish_reason,
            "cached": self.cached,
            "usage": self.usage.to_dict(),
            "latency_ms": round(self.latency_ms, 3),
        }
        if self.similarity is not None:
            out["similarity"] = self.similarity  # only on semantic hits, so other output keeps its shape
        if self.semantic_score is not None:
            out["semantic_score"] = self.semantic_score
        return out
