"""How a recorded answer is laid out in a store: one compact JSON document per entry.

An entry holds every chunk's text and arrival time, so a hit replays the same chunks in the same
order (and, if asked, at the same pace). Entries are plain data: reading one never runs code.
"""

from __future__ import annotations

import json
import time
from typing import Any

from .._record import Record
from ..reply import Chunk, Usage

FORMAT = 1


class Entry(Record):
    """A recorded answer: every chunk's text and arrival time (ms), how it finished, its usage."""

    __slots__ = ("model", "provider", "texts", "offsets", "finish_reason", "usage", "created", "question")

    def __init__(
        self,
        model: str,
        provider: str,
        texts: list[str],
        offsets: list[float],
        finish_reason: str,
        usage: Usage,
        created: float,
        question: str = "",
    ) -> None:
        self.model = model
        self.provider = provider
        self.texts = texts
        self.offsets = offsets
        self.finish_reason = finish_reason
        self.usage = usage
        self.created = created
        self.question = question

    def chunks(self) -> list[Chunk]:
        """The recorded chunks; the last one carries finish_reason and usage, as in the original stream."""
        out = [Chunk(text, None, None, off) for text, off in zip(self.texts, self.offsets, strict=True)]
        out[-1].finish_reason = self.finish_reason
        out[-1].usage = Usage(self.usage.prompt_tokens, self.usage.completion_tokens)
        return out

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def encode(self) -> bytes:
        return json.dumps(
            {
                "v": FORMAT,
                "model": self.model,
                "provider": self.provider,
                "t": self.texts,
                "o": self.offsets,
                "f": self.finish_reason,
                "u": [self.usage.prompt_tokens, self.usage.completion_tokens],
                "c": self.created,
                "q": self.question,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Entry:
        """Parse an entry; raise ValueError on anything malformed (the caller treats it as a miss)."""
        d: Any = json.loads(raw)
        if not isinstance(d, dict) or d.get("v") != FORMAT:
            raise ValueError("unknown entry format")
        texts, offsets, usage = d["t"], d["o"], d["u"]
        # Shape checks only: json.loads gives plain str/number/list values, never objects with code.
        if (
            not isinstance(texts, list)
            or not texts
            or not isinstance(offsets, list)
            or len(texts) != len(offsets)
        ):
            raise ValueError("malformed chunks")
        "".join(texts)  # raises TypeError unless every text is a string
        return cls(
            model=str(d["model"]),
            provider=str(d["provider"]),
            texts=texts,
            offsets=offsets,
            finish_reason=str(d["f"]),
            usage=Usage(int(usage[0]), int(usage[1])),
            created=float(d["c"]),
            question=str(d.get("q", "")),
        )

    @classmethod
    def from_chunks(cls, chunks: list[Chunk], model: str, provider: str, question: str) -> Entry:
        last = chunks[-1]
        return cls(
            model=model,
            provider=provider,
            texts=[c.text for c in chunks],
            offsets=[round(c.offset_ms, 2) for c in chunks],
            finish_reason=last.finish_reason or "stop",
            usage=last.usage or Usage(),
            created=time.time(),
            question=question[:200],
        )


def read_entry(raw: bytes) -> Entry | None:
    """The entry in ``raw``, or None when it is malformed (or not a prosa entry at all)."""
    try:
        return Entry.decode(raw)
    except (ValueError, KeyError, TypeError, IndexError):
        return None
