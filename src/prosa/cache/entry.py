"""How a recorded answer is laid out in a store: one compact JSON document per entry.

An entry holds every chunk as the upstream sent it (every choice and delta field) and when it
arrived, so a hit replays the same chunks in the same order (and, if asked, at the same pace),
and a whole answer is assembled from the same record. Entries are plain data: reading one never runs code.
"""

from __future__ import annotations

import json
import time
from typing import Any

from .._record import Record
from ..completion import assemble, delta_text
from ..reply import Chunk, Usage

FORMAT = 2


class Entry(Record):
    """A recorded answer: every chunk's data as the upstream sent it, its arrival time (ms), who
    answered, when, the question (for listing) and the scope it was cached in (tenant/namespace, "" for
    none). The whole completion is assembled once."""

    __slots__ = (
        "model",
        "provider",
        "records",
        "offsets",
        "created",
        "question",
        "scope",
        "completion",
        "memo",
        "_usage",
    )

    def __init__(
        self,
        model: str,
        provider: str,
        records: list[dict[str, Any]],
        offsets: list[float],
        created: float,
        question: str = "",
        scope: str = "",
    ) -> None:
        self.model, self.provider, self.records = model, provider, records
        self.offsets, self.created, self.question = offsets, created, question
        self.scope = scope
        self.completion: dict[str, Any] = assemble(records)
        self.memo: dict[Any, Any] = {}  # renderings of this entry kept by the doors (e.g. SSE frames)
        self._usage: Usage | None = None

    def chunks(self) -> list[Chunk]:
        """The recorded chunks, in order, as they were streamed."""
        return [Chunk.of(data, off) for data, off in zip(self.records, self.offsets, strict=True)]

    def _first(self) -> dict[str, Any]:
        choices = self.completion["choices"]
        return choices[0] if choices else {"message": {}, "finish_reason": None}

    @property
    def text(self) -> str:
        return self._first()["message"].get("content") or ""

    @property
    def texts(self) -> list[str]:
        return [delta_text(d) for d in self.records]

    @property
    def finish_reason(self) -> str:
        return self._first().get("finish_reason") or "stop"

    @property
    def usage(self) -> Usage:
        """The answer's usage (made once per decoded entry; callers must not change it)."""
        usage = self._usage
        if usage is None:
            usage = self._usage = Usage.from_dict(self.completion.get("usage"))
        return usage

    def encode(self) -> bytes:
        doc = {"v": FORMAT, "model": self.model, "provider": self.provider, "k": self.records,
               "o": self.offsets, "c": self.created, "q": self.question}  # fmt: skip
        if self.scope:
            doc["s"] = self.scope
        try:
            return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        except UnicodeEncodeError:  # a lone surrogate in the answer: \u escapes are still valid JSON
            return json.dumps(doc, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Entry:
        """Parse an entry; raise ValueError on anything malformed (the caller treats it as a miss)."""
        d: Any = json.loads(raw)
        if not isinstance(d, dict):
            raise ValueError("unknown entry format")
        if d.get("v") == 1:
            return _decode_v1(d)
        if d.get("v") != FORMAT:
            raise ValueError("unknown entry format")
        records, offsets = d["k"], d["o"]
        # Shape checks only: json.loads gives plain str/number/list values, never objects with code.
        if (
            not isinstance(records, list)
            or not records
            or not all(isinstance(r, dict) and isinstance(r.get("choices") or [], list) for r in records)
            or not isinstance(offsets, list)
            or len(records) != len(offsets)
        ):
            raise ValueError("malformed chunks")
        return cls(str(d["model"]), str(d["provider"]), records, offsets, float(d["c"]), str(d.get("q", "")),
                   str(d.get("s", "")))  # fmt: skip

    @classmethod
    def from_chunks(
        cls, chunks: list[Chunk], model: str, provider: str, question: str, scope: str = ""
    ) -> Entry:
        return cls(
            model=model,
            provider=provider,
            records=[c.data for c in chunks],
            offsets=[round(c.offset_ms, 2) for c in chunks],
            created=time.time(),
            question=question[:200],
            scope=scope,
        )


def _decode_v1(d: dict[str, Any]) -> Entry:
    """A text-only entry of the first format (read for listing and export; never served: its key form is gone)."""
    texts, offsets, usage = d["t"], d["o"], d["u"]
    if (
        not isinstance(texts, list)
        or not texts
        or not isinstance(offsets, list)
        or len(texts) != len(offsets)
    ):
        raise ValueError("malformed chunks")
    chunks = [Chunk(str(t)) for t in texts]
    last = chunks[-1].data["choices"][0]
    last["finish_reason"] = str(d["f"])
    chunks[-1].data["usage"] = Usage(int(usage[0]), int(usage[1])).to_dict()
    records = [c.data for c in chunks]
    return Entry(str(d["model"]), str(d["provider"]), records, offsets, float(d["c"]), str(d.get("q", "")))


def read_entry(raw: bytes) -> Entry | None:
    """The entry in ``raw``, or None when it is malformed (or not a prosa entry at all)."""
    try:
        return Entry.decode(raw)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None
