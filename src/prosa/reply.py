"""Reply, Chunk, Usage and ToolCall: what a model sends back, streamed or whole.

A chunk carries the whole ``chat.completion.chunk`` the upstream sent (``data``: every choice and
delta field, without the per-answer ``id``/``created``); ``text`` is just a convenience view of
the first choice's content. A Reply is the same chunks assembled into a ``chat.completion``.
"""

from __future__ import annotations

import json
from typing import Any

from ._record import Record
from .completion import _copy, delta_text


class Usage(Record):
    """Token counts of one answer. ``details`` keeps any other usage fields the upstream sent
    (``prompt_tokens_details``, ``completion_tokens_details``...)."""

    __slots__ = ("prompt_tokens", "completion_tokens", "details")

    def __init__(
        self, prompt_tokens: int = 0, completion_tokens: int = 0, details: dict[str, Any] | None = None
    ) -> None:
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.details = details

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Usage:
        if not data:
            return cls()
        if len(data) == 3 and "total_tokens" in data:  # the common shape, kept short: it runs on every hit
            return cls(int(data.get("prompt_tokens") or 0), int(data.get("completion_tokens") or 0))
        extra = {
            k: v for k, v in data.items() if k not in ("prompt_tokens", "completion_tokens", "total_tokens")
        }
        return cls(
            int(data.get("prompt_tokens") or 0), int(data.get("completion_tokens") or 0), extra or None
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }
        if self.details:
            out.update(self.details)
        return out


class Chunk(Record):
    """One piece of a streamed answer.

    ``data`` is the upstream's chunk (``choices`` with their deltas, ``model``, ``usage``...);
    ``text`` is the content it adds to the first choice. The chunk that finishes a choice carries
    ``finish_reason``; the one with the usage (often the last, with no choices) carries ``usage``.
    ``offset_ms`` is when the chunk arrived, counted from the start of the request.
    """

    __slots__ = ("text", "finish_reason", "usage", "offset_ms", "data")

    def __init__(
        self,
        text: str,
        finish_reason: str | None = None,
        usage: Usage | None = None,
        offset_ms: float = 0.0,
        data: dict[str, Any] | None = None,
    ) -> None:
        self.text = text
        self.finish_reason = finish_reason
        self.usage = usage
        self.offset_ms = offset_ms
        if data is None:  # a chunk made from text alone: its data says the same
            choice = {"index": 0, "delta": {"content": text} if text else {}, "logprobs": None,
                      "finish_reason": finish_reason}  # fmt: skip
            data = {"choices": [choice]}
            if usage is not None:
                data["usage"] = usage.to_dict()
        self.data = data

    @classmethod
    def of(cls, data: dict[str, Any], offset_ms: float = 0.0) -> Chunk:
        """A chunk from the upstream's chunk data."""
        finish = None
        for choice in data.get("choices") or ():
            reason = choice.get("finish_reason")
            if reason is not None and (finish is None or choice.get("index", 0) == 0):
                finish = reason
        raw_usage = data.get("usage")
        usage = Usage.from_dict(raw_usage) if raw_usage else None
        return cls(delta_text(data), finish, usage, offset_ms, data)


class ToolCall(Record):
    """A call the model asks for: ``arguments`` as sent (a JSON string), ``parsed`` as an object."""

    __slots__ = ("id", "name", "arguments", "type")

    def __init__(self, id: str, name: str, arguments: str, type: str = "function") -> None:  # noqa: A002
        self.id, self.name, self.arguments, self.type = id, name, arguments, type

    @property
    def parsed(self) -> Any:
        """The arguments decoded from JSON; ValueError when the model wrote something that is not JSON."""
        return json.loads(self.arguments) if self.arguments.strip() else {}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCall:
        kind = data.get("type") or "function"
        body = data.get(kind) or {}
        arguments = body.get("arguments", body.get("input", ""))
        return cls(str(data.get("id") or ""), str(body.get("name") or ""), str(arguments or ""), kind)

    def to_dict(self) -> dict[str, Any]:
        if self.type == "custom":
            return {"id": self.id, "type": "custom", "custom": {"name": self.name, "input": self.arguments}}
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


class Choice(Record):
    """One of several answers (``n`` > 1): its index, message, finish reason and logprobs."""

    __slots__ = ("index", "message", "finish_reason", "logprobs")

    def __init__(self, index: int, message: dict[str, Any], finish_reason: str | None, logprobs: Any) -> None:
        self.index, self.message, self.finish_reason, self.logprobs = index, message, finish_reason, logprobs

    @property
    def text(self) -> str:
        return self.message.get("content") or ""

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [ToolCall.from_dict(c) for c in self.message.get("tool_calls") or ()]


class Reply(Record):
    """A whole answer.

    ``text`` is the first choice's content; ``tool_calls``, ``refusal``, ``reasoning``, ``logprobs``
    and ``choices`` read the rest of the ``completion`` (the whole ``chat.completion`` object the
    upstream's stream adds up to; ``id`` and ``created`` are left out). Pass a Reply back in the
    messages of the next call as the assistant's turn (its :attr:`message`).

    ``cached`` is False for a fresh answer, True when it was replayed from the cache, and
    ``"semantic"`` when it was the cached answer to another question that means the same (a
    semantic hit; ``similarity`` is then the cosine similarity of the two questions, and ``key``
    the key of the entry served, and ``semantic_score`` the verifier's score in [0, 1]: the pair
    model's probability that one answer serves both questions; None with the verifier off).
    ``similarity`` and ``semantic_score`` are None otherwise.
    ``latency_ms`` is the time this call took (a cache hit takes microseconds). ``chunks`` is how
    many chunks the answer was streamed in; ``key`` is its cache key (None without a cache).
    """

    __slots__ = (
        "text", "model", "provider", "finish_reason", "usage", "cached", "latency_ms", "chunks", "key", "similarity",
        "semantic_score", "completion",
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
        completion: dict[str, Any] | None = None,
    ) -> None:
        # Three at a time: CPython assigns up to three without building a tuple (this runs on every hit).
        self.text, self.model, self.provider = text, model, provider
        self.finish_reason, self.usage = finish_reason, usage if usage is not None else Usage()
        self.cached, self.latency_ms, self.chunks = cached, latency_ms, chunks
        self.key, self.similarity, self.semantic_score = key, similarity, semantic_score
        # Shared with the cache's decoded entry: the properties below hand out copies.
        self.completion = completion

    def _first(self) -> dict[str, Any]:
        choices = (self.completion or {}).get("choices") or ()
        return choices[0]["message"] if choices else {"role": "assistant", "content": self.text}

    @property
    def message(self) -> dict[str, Any]:
        """The assistant's turn, ready to append to the conversation (tool calls included; reasoning
        left out, as servers that send it refuse it back)."""
        return {
            k: v for k, v in _copy(self._first()).items()
            if (v is not None or k == "content") and k not in ("reasoning_content", "reasoning")
        }  # fmt: skip

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [ToolCall.from_dict(c) for c in self._first().get("tool_calls") or ()]

    @property
    def refusal(self) -> str | None:
        return self._first().get("refusal")

    @property
    def reasoning(self) -> str | None:
        """Reasoning text, where the upstream sends it (``reasoning_content``, as vLLM and DeepSeek do)."""
        first = self._first()
        return first.get("reasoning_content") or first.get("reasoning")

    @property
    def logprobs(self) -> Any:
        choices = (self.completion or {}).get("choices") or ()
        return _copy(choices[0].get("logprobs")) if choices else None

    @property
    def choices(self) -> list[Choice]:
        """Every choice (several when the request set ``n``)."""
        out = []
        for c in (self.completion or {}).get("choices") or ():
            out.append(
                Choice(
                    c.get("index", 0), _copy(c["message"]), c.get("finish_reason"), _copy(c.get("logprobs"))
                )
            )
        return out

    @property
    def system_fingerprint(self) -> str | None:
        return (self.completion or {}).get("system_fingerprint")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "text": self.text,
            "model": self.model,
            "provider": self.provider,
            "finish_reason": self.finish_reason,
            "cached": self.cached,
            "usage": self.usage.to_dict(),
            "latency_ms": round(self.latency_ms, 3),
        }
        # Only when present, so a plain answer's output keeps its shape.
        calls = self.tool_calls
        if calls:
            out["tool_calls"] = [c.to_dict() for c in calls]
        if self.refusal:
            out["refusal"] = self.refusal
        if self.reasoning:
            out["reasoning"] = self.reasoning
        choices = (self.completion or {}).get("choices") or ()
        if len(choices) > 1:
            out["choices"] = [{"index": c.index, "message": c.message, "finish_reason": c.finish_reason}
                              for c in self.choices]  # fmt: skip
        if self.similarity is not None:
            out["similarity"] = self.similarity
        if self.semantic_score is not None:
            out["semantic_score"] = self.semantic_score
        return out
