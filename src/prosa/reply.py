"""Reply, Chunk and Usage: what a model sends back, streamed or whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(slots=True)
class Chunk:
    """One piece of a streamed answer.

    The last chunk of a complete stream carries ``finish_reason`` (and ``usage`` when known).
    ``offset_ms`` is when the chunk arrived, counted from the start of the request.
    """

    text: str
    finish_reason: str | None = None
    usage: Usage | None = None
    offset_ms: float = 0.0


@dataclass(slots=True)
class Reply:
    """A whole answer.

    ``cached`` is False for a fresh answer and True when it was replayed from the cache.
    ``latency_ms`` is the time this call took (a cache hit takes microseconds).
    """

    text: str
    model: str
    provider: str
    finish_reason: str | None
    usage: Usage = field(default_factory=Usage)
    cached: bool = False
    latency_ms: float = 0.0
    chunks: int = 0
    key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "model": self.model,
            "provider": self.provider,
            "finish_reason": self.finish_reason,
            "cached": self.cached,
            "usage": self.usage.to_dict(),
            "latency_ms": round(self.latency_ms, 3),
        }
