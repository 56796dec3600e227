"""How a recorded answer is laid out in a store: one compact JSON document per entry.

An entry holds every chunk's text and arrival time, so a hit replays the same chunks in the same
order (and, if asked, at the same pace). Entries are plain data: reading one never runs code.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from ..reply import Chunk, Usage

FORMAT = 1


@dataclass(slots=True)
class Entry:
    model: str
    provider: str
    texts: list[str]
    offsets: list[float]
    finish_reason: str
    usage: Usage
    created: float
    question: str = ""

    def chunks(self) -> list[Chunk]:
        """The recorded chunks; the last one carries finish_reason and usage, as in the original stream."""
        last = len(self.texts) - 1
        return [
            Chunk(text, self.finish_reason if i == last else None, self.usage if i == last else None, off)
            for i, (text, off) in enumerate(zip(self.texts, self.offsets, strict=True))
        ]

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
        if not texts or len(texts) != len(offsets) or not all(isinstance(t, str) for t in texts):
            raise ValueError("malformed chunks")
        return cls(
            model=str(d["model"]),
            provider=str(d["provider"]),
            texts=texts,
            offsets=[float(o) for o in offsets],
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
