"""Every kind of entry a cache store holds, and how tooling describes, exports and imports each.

The request paths read their own kind directly (``ResponseCache``: chat entries; the embeddings
service: vectors; ``prosa.langchain``: generations). ``prosa cache list/show/export/import`` go
through this registry only, so showing a LangChain entry needs no LangChain, nor an embedding numpy.
Reading an entry here never runs code: JSON is parsed as data, vectors are only measured.

Kinds, tried in order (``FORMATS``):

- ``chat``: a recorded answer (``entry.Entry``, format 2), every door's own;
- ``responses``: a Responses API answer passed through and recorded as its events (format 2,
  provider ``openai-responses``);
- ``chat-v1``: the first, text-only answer format (listed and exported; never served);
- ``stored-response``: a response kept for ``GET /v1/responses/{id}`` (``responses.store``);
- ``langchain``: LangChain generations written by ``prosa.langchain``'s caches (``"lc1"``);
- ``embedding``: one input's vector (binary: header, JSON note, float32 bytes), exported as base64.
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

from ..reply import Usage
from .entry import FORMAT as CHAT
from .entry import read_entry

__all__ = [
    "FORMATS",
    "LANGCHAIN",
    "LANGCHAIN_PREFIX",
    "Description",
    "Format",
    "export_line",
    "find",
    "read_line",
]

# LangChain's entries (written by prosa.integrations.langchain.codec) start with these bytes, so its
# cache's clear() tells them from every other kind without parsing them.
LANGCHAIN = "lc1"
LANGCHAIN_PREFIX = b'{"v":"' + LANGCHAIN.encode() + b'"'
# The provider of a Responses API answer recorded by the gateway's passthrough.
RESPONSES_PROVIDER = "openai-responses"


class Description:
    """What ``prosa cache list/show`` print of an entry, whatever its kind."""

    __slots__ = ("kind", "model", "provider", "question", "texts", "usage", "finish_reason")

    def __init__(
        self,
        kind: str,
        model: str,
        provider: str,
        question: str,
        texts: list[str],
        usage: Usage,
        finish_reason: str = "",
    ) -> None:
        self.kind, self.model, self.provider, self.question = kind, model, provider, question
        self.texts, self.usage, self.finish_reason = texts, usage, finish_reason

    @property
    def text(self) -> str:
        return "".join(self.texts)


class Format:
    """One kind of entry. ``owns`` says whether an entry is this kind (``doc``: the parsed JSON, None
    for a binary entry); ``describe`` reads it for display (None: unreadable); ``check`` raises
    ValueError when an imported entry is not well formed."""

    name = ""
    binary = False  # exported as base64 ("bytes"), not as JSON ("entry")

    def owns(self, raw: bytes, doc: Any) -> bool:
        raise NotImplementedError

    def describe(self, raw: bytes, doc: Any) -> Description | None:
        raise NotImplementedError

    def check(self, raw: bytes, doc: Any) -> None:
        if self.describe(raw, doc) is None:
            raise ValueError(f"malformed {self.name} entry")


class _Chat(Format):
    """A recorded chat answer (``version`` 2), or one of the first text-only format (1)."""

    def __init__(self, name: str, version: int) -> None:
        self.name, self.version = name, version

    def owns(self, raw: bytes, doc: Any) -> bool:
        return isinstance(doc, dict) and doc.get("v") == self.version

    def describe(self, raw: bytes, doc: Any) -> Description | None:
        entry = read_entry(raw)
        if entry is None:
            return None
        return Description(self.name, entry.model, entry.provider, entry.question, entry.texts, entry.usage,
                           entry.finish_reason)  # fmt: skip


class _RecordedResponse(_Chat):
    """A Responses API answer kept as the events the upstream streamed (the last one holds it whole)."""

    def owns(self, raw: bytes, doc: Any) -> bool:
        return super().owns(raw, doc) and doc.get("provider") == RESPONSES_PROVIDER

    def describe(self, raw: bytes, doc: Any) -> Description | None:
        entry = super().describe(raw, doc)
        if entry is None:
            return None
        last = doc["k"][-1]
        response = last.get("response") if isinstance(last, dict) else None
        if not isinstance(response, dict):
            return None
        entry.texts = [_response_text(response)]
        entry.usage = _response_usage(response)
        entry.finish_reason = str(response.get("status") or "")
        return entry


class _StoredResponse(Format):
    """A response kept under its id for ``GET /v1/responses/{id}`` and ``previous_response_id``."""

    name = "stored-response"

    def owns(self, raw: bytes, doc: Any) -> bool:
        return isinstance(doc, dict) and doc.get("v") == "resp1"

    def describe(self, raw: bytes, doc: Any) -> Description | None:
        response, conversation = doc.get("response"), doc.get("conversation")
        if not isinstance(response, dict) or not isinstance(conversation, list):
            return None
        asked = [m.get("content") for m in conversation if isinstance(m, dict) and m.get("role") == "user"]
        question = asked[-1] if asked and isinstance(asked[-1], str) else ""
        return Description(self.name, str(response.get("model", "")), "responses", question[:200],
                           [_response_text(response)], _response_usage(response),
                           str(response.get("status") or ""))  # fmt: skip


class _LangChain(Format):
    """Generations written by prosa's LangChain caches: ``{"v":"lc1","model","q","u":[in,out],"g":[...]}``,
    each generation ``{"t":"Generation","text"}`` or ``{"t":"ChatGeneration","msg":{AIMessage fields}}``."""

    name = "langchain"

    def owns(self, raw: bytes, doc: Any) -> bool:
        return isinstance(doc, dict) and doc.get("v") == LANGCHAIN

    def describe(self, raw: bytes, doc: Any) -> Description | None:
        items, used = doc.get("g"), doc.get("u") or (0, 0)
        if not isinstance(items, list) or not items or not all(isinstance(g, dict) for g in items):
            return None
        try:
            usage = Usage(int(used[0]), int(used[1]))
        except (TypeError, ValueError, IndexError, KeyError):
            return None
        texts = [_generation_text(g) for g in items]
        return Description(
            self.name, str(doc.get("model", "")), "langchain", str(doc.get("q", "")), texts, usage
        )


class _Embedding(Format):
    """One input's vector, as the embeddings service stores it."""

    name = "embedding"
    binary = True

    def owns(self, raw: bytes, doc: Any) -> bool:
        from ..embeddings.service import MAGIC

        return doc is None and raw.startswith(MAGIC)

    def describe(self, raw: bytes, doc: Any) -> Description | None:
        from ..embeddings.service import read_note

        note = read_note(raw)
        if not note:
            return None
        text = f"[embedding: {note['d']} dimensions]"
        return Description(self.name, str(note.get("m", "")), "embedding", str(note.get("q", "")), [text],
                           Usage(int(note["t"]), 0))  # fmt: skip


FORMATS: tuple[Format, ...] = (
    _RecordedResponse("responses", CHAT),
    _Chat("chat", CHAT),
    _Chat("chat-v1", 1),
    _StoredResponse(),
    _LangChain(),
    _Embedding(),
)


def find(raw: bytes) -> tuple[Format, Any] | None:
    """The kind of an entry and its parsed JSON (None for a binary one), or None for an unknown kind."""
    doc: Any = None
    if raw[:1] == b"{":
        try:
            doc = json.loads(raw)
        except ValueError:  # UnicodeDecodeError too
            return None
    for fmt in FORMATS:
        if fmt.owns(raw, doc):
            return fmt, doc
    return None


def describe(raw: bytes) -> Description | None:
    """What tooling shows of an entry, or None when no kind reads it."""
    found = find(raw)
    return None if found is None else found[0].describe(raw, found[1])


def export_line(key: str, created: float, raw: bytes) -> str | None:
    """One line of ``prosa cache export``: the key, when it was stored and the entry (JSON as JSON,
    a binary entry as base64 under "bytes"); None for an entry no kind reads."""
    found = find(raw)
    if found is None:
        return None
    fmt, doc = found
    try:
        fmt.check(raw, doc)  # what import would refuse is not exported
    except ValueError:
        return None
    record: dict[str, Any] = {"key": key, "created": created}
    if fmt.binary:
        record["bytes"] = base64.b64encode(raw).decode()
    else:
        record["entry"] = doc
    return json.dumps(record)


def read_line(line: str) -> tuple[str, bytes, float | None]:
    """An export line back to (key, entry bytes, created time); ValueError (or KeyError, TypeError)
    when it is not a well-formed line of a known kind."""
    record = json.loads(line)
    key = record["key"]
    if not isinstance(key, str) or not re.fullmatch(r"[0-9a-f]{64}", key):
        raise ValueError("bad key")
    if "bytes" in record:
        raw = base64.b64decode(record["bytes"], validate=True)
    else:
        raw = json.dumps(record["entry"], ensure_ascii=False, separators=(",", ":")).encode()
    found = find(raw)
    if found is None:
        raise ValueError("unknown kind of entry")
    found[0].check(raw, found[1])  # only well-formed entries go in
    created = record.get("created")
    if created is not None and (isinstance(created, bool) or not isinstance(created, (int, float))):
        raise ValueError("bad created time")
    # The entry keeps its age (never one in the future), so `prune --older-than` treats it as the original.
    return key, raw, None if created is None else min(float(created), time.time())


def _response_text(response: dict[str, Any]) -> str:
    """The output text of a Responses API response object."""
    parts = []
    for item in response.get("output") or ():
        if isinstance(item, dict) and item.get("type") == "message":
            for part in item.get("content") or ():
                if isinstance(part, dict) and part.get("type") == "output_text":
                    parts.append(str(part.get("text", "")))
    return "".join(parts)


def _response_usage(response: dict[str, Any]) -> Usage:
    used = response.get("usage")
    if not isinstance(used, dict):
        return Usage()
    try:
        return Usage(int(used.get("input_tokens") or 0), int(used.get("output_tokens") or 0))
    except (TypeError, ValueError):
        return Usage()


def _generation_text(item: dict[str, Any]) -> str:
    """A LangChain generation's text: a Generation's own, or its AI message's text content."""
    message = item.get("msg")
    if not isinstance(message, dict):
        return str(item.get("text", ""))
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks: their text parts
        return "".join(
            b if isinstance(b, str) else str(b.get("text", ""))
            for b in content
            if isinstance(b, str) or (isinstance(b, dict) and b.get("type") == "text")
        )
    return ""
