"""LangChain cache entries as plain JSON: keys, and generations to bytes and back.

LangChain's own SQL caches store ``dumps(generation)`` and read it back with ``loads``, which
resolves class paths written in the data; a tampered database can then make the reader build
objects it never meant to. Here an entry is plain data and decoding rebuilds only the classes
named below (``Generation``, ``ChatGeneration`` with an ``AIMessage``); anything else, or
anything malformed, is a miss. The layout is registered with every other kind of entry in
``prosa.cache.formats``, which describes it to ``prosa cache`` without importing LangChain.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation, GenerationChunk

from ...cache.formats import LANGCHAIN as FORMAT
from ...cache.formats import LANGCHAIN_PREFIX as PREFIX
from ...reply import Usage

__all__ = ["FORMAT", "PREFIX", "Generations", "cache_key", "decode", "encode", "fresh"]

log = logging.getLogger("prosa.langchain")

# Hashed before the prompt: prosa's response keys hash a provider identity ("openai:...",
# "local:...") first, so the two key spaces cannot meet even in a shared store.
_KEY_DOMAIN = b"prosa.langchain.v1\x00"

# The AIMessage fields an entry keeps: plain data, all of them.
_MESSAGE_FIELDS = (
    "content",
    "additional_kwargs",
    "response_metadata",
    "usage_metadata",
    "tool_calls",
    "invalid_tool_calls",
    "id",
    "name",
)


# A pure function, memoized: a repeated hit skips the hashing (as many prompts kept as the old memo).
@functools.lru_cache(maxsize=512)
def cache_key(prompt: str, llm_string: str) -> str:
    """SHA-256 over (prompt, llm_string), length-prefixed so the split between them is unambiguous."""
    p = prompt.encode("utf-8", "surrogatepass")
    material = b"".join(
        (_KEY_DOMAIN, str(len(p)).encode(), b"\x00", p, llm_string.encode("utf-8", "surrogatepass"))
    )
    return hashlib.sha256(material).hexdigest()


def encode(prompt: str, generations: Sequence[Generation]) -> bytes | None:
    """The entry for ``generations``, or None when one of them cannot be kept as plain data."""
    items: list[dict[str, Any]] = []
    tokens = [0, 0]
    model = ""
    for generation in generations:
        item = _encode_generation(generation)
        if item is None:
            log.debug("langchain cache: %s is not cacheable as plain data", type(generation).__name__)
            return None
        items.append(item)
        message = item.get("msg")
        if message is not None:
            usage = message.get("usage_metadata") or {}
            tokens[0] += _int(usage.get("input_tokens"))
            tokens[1] += _int(usage.get("output_tokens"))
            meta = message.get("response_metadata") or {}
            model = model or str(meta.get("model_name") or meta.get("model") or "")
    entry = {"v": FORMAT, "model": model, "q": _question(prompt), "u": tokens, "g": items}
    try:
        return json.dumps(entry, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as e:  # a value that is not JSON (a datetime, an object...)
        log.debug("langchain cache: generation metadata is not plain JSON (%s); not cached", e)
        return None


class Generations:
    """A decoded entry: its generations, and the model and usage a hit saves (counted by ResponseCache)."""

    __slots__ = ("generations", "model", "usage")

    def __init__(self, generations: list[Generation], model: str, usage: Usage) -> None:
        self.generations, self.model, self.usage = generations, model, usage


def decode(raw: bytes) -> Generations | None:
    """The generations of an entry and what they cost, or None for anything not a valid entry."""
    try:
        entry = json.loads(raw)
        if not isinstance(entry, dict) or entry.get("v") != FORMAT:
            return None
        items = entry["g"]
        if not isinstance(items, list) or not items:
            return None
        generations = [_decode_generation(item) for item in items]
        usage = entry.get("u") or (0, 0)
        return Generations(generations, str(entry.get("model") or ""), Usage(_int(usage[0]), _int(usage[1])))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        # pydantic's ValidationError is a ValueError: a field of the wrong shape lands here too.
        return None


def fresh(generation: Generation) -> Generation:
    """A copy of a decoded generation to hand out, so that what a caller does to it stays its own.

    Shallow, for speed (a hit should cost what LangChain's in-memory cache costs): a new
    Generation with its own ``generation_info`` dict. A ChatGeneration's message is shared, as
    LangChain's chat models copy the message of every cache hit before using it; values nested
    in it are shared with later hits in this process, as they are with LangChain's
    InMemoryCache, which hands out the very objects it stores.
    """
    copied = generation.__copy__()  # pydantic's shallow copy: no validation, values already checked
    info = generation.generation_info
    if info is not None:
        copied.generation_info = dict(info)
    return copied


def _encode_generation(generation: Generation) -> dict[str, Any] | None:
    info = generation.generation_info
    if isinstance(generation, ChatGeneration):
        message = generation.message
        # AIMessageChunk is an AIMessage; it is stored, and comes back, as a plain AIMessage.
        if not isinstance(message, AIMessage):
            return None
        fields = {name: getattr(message, name, None) for name in _MESSAGE_FIELDS}
        return {"t": "ChatGeneration", "info": info, "msg": {"type": "ai", **fields}}
    if type(generation) in (Generation, GenerationChunk):
        return {"t": "Generation", "text": generation.text, "info": info}
    return None  # a subclass we do not know how to rebuild faithfully


def _decode_generation(item: Any) -> Generation:
    kind = item["t"]
    info = item.get("info")
    if info is not None and not isinstance(info, dict):
        raise TypeError("generation_info must be an object")
    if kind == "Generation":
        text = item["text"]
        if not isinstance(text, str):
            raise TypeError("text must be a string")
        return Generation(text=text, generation_info=info)
    if kind == "ChatGeneration":
        fields = item["msg"]
        if not isinstance(fields, dict) or fields.get("type") != "ai":
            raise TypeError("msg must be an AI message")
        kwargs = {name: fields[name] for name in _MESSAGE_FIELDS if fields.get(name) is not None}
        # Validation checks every field's type; nothing in an AIMessage names a class to load.
        return ChatGeneration(message=AIMessage(**kwargs), generation_info=info)
    raise ValueError(f"unknown generation type {kind!r}")


def _question(prompt: str) -> str:
    """A short label for `prosa cache list`: the last human message of a chat prompt, else the prompt."""
    if prompt.startswith("["):
        try:
            # A chat model's prompt is LangChain's JSON of the messages: read as data, never loaded.
            messages = json.loads(prompt)
            for message in reversed(messages):
                kwargs = message.get("kwargs") or {}
                if message.get("id", [""])[-1] == "HumanMessage" and isinstance(kwargs.get("content"), str):
                    return str(kwargs["content"])[:200]
        except (ValueError, TypeError, AttributeError, IndexError):
            pass
    return prompt[:200]


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
