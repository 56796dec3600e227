"""The registry of entry kinds (prosa.cache.formats): each kind, written by its real writer into a
real SQLite store, is recognised, described, exported and imported back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from prosa.cache import SQLiteStore
from prosa.cache.cache import ResponseCache
from prosa.cache.entry import Entry
from prosa.cache.formats import FORMATS, describe, export_line, find, read_line
from prosa.embeddings.service import encode_vector, parse_vector
from prosa.reply import Chunk, Usage
from prosa.request import ChatRequest
from prosa.responses import store as responses_store

V1 = b'{"v":1,"t":["Old"," answer."],"o":[0,5],"f":"stop","u":[3,2],"c":1700000000,"model":"m1","provider":"openai","q":"old question"}'


def _response(text: str) -> dict:
    return {
        "id": "resp_1",
        "object": "response",
        "model": "gpt-4o-mini",
        "status": "completed",
        "output": [
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}
        ],
        "usage": {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8},
    }


@pytest.fixture
def cache(tmp_path: Path) -> ResponseCache:
    return ResponseCache(SQLiteStore(tmp_path / "kinds.db"))


def _write_every_kind(cache: ResponseCache) -> dict[str, str]:
    """One entry of each kind through the code that writes it in prosa; returns kind -> key."""
    keys: dict[str, str] = {}
    request = ChatRequest.build("Capital of France?", model="smol")
    keys["chat"] = cache.key("openai:http://127.0.0.1:1/v1", request)
    cache.save(
        keys["chat"], [Chunk("Paris", None), Chunk(".", "stop", Usage(7, 2))], "smol", "openai", request
    )
    keys["chat-v1"] = "1" * 64
    cache.put(keys["chat-v1"], V1)
    events = [
        {"type": "response.created", "response": {**_response(""), "status": "in_progress"}},
        {"type": "response.completed", "response": _response("Bonjour.")},
    ]
    chunks = [Chunk("", "stop" if i else None, None, 0.0, e) for i, e in enumerate(events)]
    keys["responses"] = "2" * 64
    cache.put(
        keys["responses"], Entry.from_chunks(chunks, "gpt-4o-mini", "openai-responses", "Say hello").encode()
    )
    responses_store.save(cache, "", _response("Stored."), [{"role": "user", "content": "Keep this"}])
    keys["stored-response"] = responses_store._key("", "resp_1")
    keys["embedding"] = "3" * 64
    vector = np.arange(4, dtype=np.float32)
    cache.put(keys["embedding"], encode_vector(vector, "all-MiniLM-L6-v2", 6, "embed me"))
    return keys


def test_every_kind_is_known_and_described(cache: ResponseCache) -> None:
    keys = _write_every_kind(cache)
    seen = {}
    for kind, key in keys.items():
        raw = cache.store.get(key)
        found = find(raw)
        assert found is not None and found[0].name == kind
        seen[kind] = describe(raw)
    assert (seen["chat"].text, seen["chat"].usage, seen["chat"].question) == (
        "Paris.",
        Usage(7, 2),
        "Capital of France?",
    )
    assert (seen["chat-v1"].text, seen["chat-v1"].model, seen["chat-v1"].usage) == (
        "Old answer.",
        "m1",
        Usage(3, 2),
    )
    # A recorded Responses answer is shown by its final response, not by its events' (empty) deltas.
    assert (seen["responses"].text, seen["responses"].usage) == ("Bonjour.", Usage(5, 3))
    assert (seen["stored-response"].text, seen["stored-response"].question) == ("Stored.", "Keep this")
    assert (seen["embedding"].text, seen["embedding"].question) == ("[embedding: 4 dimensions]", "embed me")
    assert {f.name for f in FORMATS} == set(keys) | {"langchain"}


def test_every_kind_survives_export_and_import(cache: ResponseCache, tmp_path: Path) -> None:
    keys = _write_every_kind(cache)
    lines = [export_line(info.key, info.created, cache.store.get(info.key)) for info in cache.store.scan()]
    assert len(lines) == len(keys) and all(line is not None for line in lines)
    target = SQLiteStore(tmp_path / "copy.db")
    for line in lines:
        key, raw, created = read_line(line)
        target.put(key, raw, created=created)
    for key in keys.values():
        before, after = cache.store.get(key), target.get(key)
        if before.startswith(b"{"):
            assert json.loads(after) == json.loads(before)
        else:  # binary, carried as base64: the very bytes
            assert after == before and parse_vector(after) is not None
        assert describe(after).text == describe(before).text


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\xff binary junk", b"{not json", b'{"v":99}', b"[1, 2]", b"prosa-embedding-2\nshort"],
)
def test_unknown_or_broken_entries_are_neither_described_nor_exported(raw: bytes) -> None:
    assert describe(raw) is None
    assert export_line("a" * 64, 0.0, raw) is None


@pytest.mark.parametrize(
    "record",
    [
        {"key": "a" * 64, "entry": {"v": 2, "k": [], "o": []}},  # a chat entry with no chunks
        {"key": "a" * 64, "entry": {"v": "lc1", "g": "not a list"}},
        {"key": "a" * 64, "entry": {"v": "resp1", "response": "x", "conversation": []}},
        {"key": "a" * 64, "entry": {"v": 99}},
        {"key": "a" * 64, "bytes": "bm90IGFuIGVtYmVkZGluZw=="},  # base64 of something else
        {"key": "a" * 64, "bytes": "*not base64*"},
        {"key": "short", "entry": json.loads(V1)},
        {"key": "a" * 64, "entry": json.loads(V1), "created": "yesterday"},
    ],
)
def test_import_refuses_what_no_kind_reads(record: dict) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        read_line(json.dumps(record))


def test_import_never_dates_an_entry_in_the_future() -> None:
    _, raw, created = read_line(json.dumps({"key": "a" * 64, "created": 9e12, "entry": json.loads(V1)}))
    assert created is not None and created < 9e12 and find(raw)[0].name == "chat-v1"
