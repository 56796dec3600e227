"""prosa's LangChain caches on real stores: round trips, keys, sharing, counters, safety."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from langchain_core.load import dumpd
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, Generation, GenerationChunk

from prosa.cache import MemoryStore, SQLiteStore
from prosa.cache.cache import ResponseCache
from prosa.errors import CacheError
from prosa.integrations.langchain.codec import cache_key
from prosa.langchain import InMemoryCache, SQLiteCache, StoreCache
from prosa.request import ChatRequest

PROMPT = '[{"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "HumanMessage"], "kwargs": {"content": "Capital of France?", "type": "human"}}]'
LLM = '{"model_name": "smol"}---[("stop", None)]'


def chat_generation() -> ChatGeneration:
    message = AIMessage(
        content="Paris.",
        additional_kwargs={"refusal": None},
        response_metadata={"model_name": "smol", "finish_reason": "stop", "token_usage": {"total_tokens": 9}},
        usage_metadata={"input_tokens": 7, "output_tokens": 2, "total_tokens": 9},
        tool_calls=[{"name": "lookup", "args": {"city": "Paris"}, "id": "call_1", "type": "tool_call"}],
        id="lc_run--1234-0",
    )
    return ChatGeneration(message=message, generation_info={"finish_reason": "stop"})


@pytest.fixture(params=["memory", "sqlite"])
def cache(request: pytest.FixtureRequest, tmp_path: Path) -> StoreCache:
    if request.param == "memory":
        return InMemoryCache()
    return SQLiteCache(database_path=tmp_path / "lc.db")


def test_chat_generation_round_trip(cache: StoreCache) -> None:
    generation = chat_generation()
    cache.update(PROMPT, LLM, [generation])
    found = cache.lookup(PROMPT, LLM)
    assert found == [generation]
    assert type(found[0]) is ChatGeneration and type(found[0].message) is AIMessage
    assert found[0].text == "Paris."


def test_chunks_come_back_as_whole_classes(cache: StoreCache) -> None:
    chunk = ChatGenerationChunk(message=AIMessageChunk(content="Hi", usage_metadata=None))
    cache.update(PROMPT, LLM, [chunk, GenerationChunk(text="plain")])
    chat, plain = cache.lookup(PROMPT, LLM)
    assert type(chat) is ChatGeneration and type(chat.message) is AIMessage and chat.text == "Hi"
    assert type(plain) is Generation and plain.text == "plain"


def test_each_hit_gets_its_own_generation(cache: StoreCache) -> None:
    cache.update(PROMPT, LLM, [chat_generation(), Generation(text="plain", generation_info={"a": 1})])
    chat, plain = cache.lookup(PROMPT, LLM)
    chat.message = AIMessage(content="changed")  # what LangChain's chat models do on every hit
    plain.text = "changed"
    plain.generation_info["a"] = 2
    assert cache.lookup(PROMPT, LLM) == [
        chat_generation(),
        Generation(text="plain", generation_info={"a": 1}),
    ]


def test_without_the_memo_every_hit_is_wholly_new(tmp_path: Path) -> None:
    cache = StoreCache(SQLiteStore(tmp_path / "lc.db"), decoded_entries=0)
    cache.update(PROMPT, LLM, [chat_generation()])
    first = cache.lookup(PROMPT, LLM)[0]
    first.message.response_metadata["model_name"] = "changed"
    first.message.content = "changed"
    assert cache.lookup(PROMPT, LLM) == [chat_generation()]


def test_what_is_not_plain_data_is_not_cached(cache: StoreCache) -> None:
    cache.update(PROMPT, LLM, [ChatGeneration(message=HumanMessage(content="not an answer"))])
    assert cache.lookup(PROMPT, LLM) is None
    odd = ChatGeneration(message=AIMessage(content="x", response_metadata={"at": object()}))
    cache.update(PROMPT, LLM, [odd])
    assert cache.lookup(PROMPT, LLM) is None


def test_keys_are_store_keys_and_depend_on_both_parts() -> None:
    key = cache_key(PROMPT, LLM)
    assert len(key) == 64 and int(key, 16) >= 0
    assert cache_key(PROMPT, LLM + "x") != key != cache_key(PROMPT + "x", LLM)
    # The split point is part of the key: moving text from one part to the other is another key.
    assert cache_key("ab", "c") != cache_key("a", "bc")


def test_shared_store_keeps_prosa_and_langchain_entries_apart(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    prosa_cache = ResponseCache(SQLiteStore(path))
    request = ChatRequest.build("Capital of France?", model="smol")
    prosa_key = prosa_cache.key("openai:http://127.0.0.1:1/v1", request)
    from prosa.reply import Chunk, Usage

    prosa_cache.save(prosa_key, [Chunk("Paris.", "stop", Usage(7, 2))], "smol", "openai", request)
    lc = SQLiteCache(database_path=path)
    lc.update(PROMPT, LLM, [chat_generation()])
    assert cache_key(PROMPT, LLM) != prosa_key
    lc.clear()
    assert lc.lookup(PROMPT, LLM) is None
    entry = prosa_cache.lookup(prosa_key)
    assert entry is not None and entry.text == "Paris."  # clear() left prosa's own answer alone


def test_counters_count_hits_misses_and_tokens(tmp_path: Path) -> None:
    cache = SQLiteCache(database_path=tmp_path / "lc.db")
    assert cache.lookup(PROMPT, LLM) is None
    cache.update(PROMPT, LLM, [chat_generation()])
    cache.lookup(PROMPT, LLM)
    cache.lookup(PROMPT, LLM)
    stats = cache.stats()
    assert (stats["hits"], stats["misses"], stats["tokens_saved"], stats["entries"]) == (2, 1, 18, 1)
    cache.close()
    # Batched counters reach the file: another store on it sees them, as `prosa cache stats` would.
    assert SQLiteStore(tmp_path / "lc.db").counters()["hits"] == 2


def test_ttl_and_maxsize_come_from_the_store() -> None:
    now = [1000.0]
    cache = StoreCache(MemoryStore(ttl=60, clock=lambda: now[0]))
    cache.update(PROMPT, LLM, [chat_generation()])
    assert cache.lookup(PROMPT, LLM) is not None
    now[0] += 61
    assert cache.lookup(PROMPT, LLM) is None

    small = InMemoryCache(maxsize=2)
    for i in range(3):
        small.update(f"prompt {i}", LLM, [Generation(text=str(i))])
    assert small.lookup("prompt 0", LLM) is None
    assert small.lookup("prompt 2", LLM) == [Generation(text="2")]
    with pytest.raises(ValueError):
        InMemoryCache(maxsize=0)


def test_another_writer_is_seen_at_once(tmp_path: Path) -> None:
    """The decoded-entry memo never hides a change made through another store on the same file."""
    reader = SQLiteCache(database_path=tmp_path / "lc.db")
    writer = SQLiteCache(database_path=tmp_path / "lc.db")
    writer.update(PROMPT, LLM, [Generation(text="old")])
    assert reader.lookup(PROMPT, LLM) == [Generation(text="old")]
    writer.update(PROMPT, LLM, [Generation(text="new")])
    assert reader.lookup(PROMPT, LLM) == [Generation(text="new")]
    writer.clear()
    assert reader.lookup(PROMPT, LLM) is None


def test_a_failing_store_is_a_miss_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    class BrokenStore(MemoryStore):
        def get(self, key: str) -> bytes | None:
            raise CacheError("cache file /x.db is locked; try again")

        def put(self, key: str, value: bytes, ttl: float | None = None) -> None:
            raise CacheError("cache file /x.db is locked; try again")

    cache = StoreCache(BrokenStore())
    with caplog.at_level(logging.WARNING, logger="prosa.cache"):  # prosa's policy layer reports it
        cache.update(PROMPT, LLM, [chat_generation()])
        assert cache.lookup(PROMPT, LLM) is None
        assert cache.lookup(PROMPT, LLM) is None
    assert [r.getMessage() for r in caplog.records] == [
        "cache file /x.db is locked; try again (answering without the cache)"
    ]
    stats = cache.stats()  # as prosa's own cache: every call that went on without the store, and the misses
    assert (stats["store_errors"], stats["misses"], stats["hit_rate"]) == (3, 2, 0.0)


def test_a_langchain_sqlite_file_is_refused_with_one_line(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / ".langchain.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE full_llm_cache (prompt TEXT, llm TEXT, idx INT, response TEXT)")
    with pytest.raises(CacheError, match="not a prosa cache"):
        SQLiteCache(database_path=path)


# -- safe deserialization --------------------------------------------------------------------------


@pytest.fixture
def no_langchain_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything calls LangChain's loader, which instantiates classes named in data."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("LangChain's loader was called on cached data")

    import importlib

    package = importlib.import_module("langchain_core.load")
    module = importlib.import_module("langchain_core.load.load")  # the package's `load` is a function
    for name in ("loads", "load"):
        monkeypatch.setattr(package, name, refuse)
        monkeypatch.setattr(module, name, refuse)
    monkeypatch.setattr(module.Reviver, "__call__", refuse)


def _put(cache: StoreCache, value: bytes | str) -> None:
    cache.store.put(cache_key(PROMPT, LLM), value.encode() if isinstance(value, str) else value)


def test_a_langchain_serialized_object_in_the_db_is_a_miss(
    tmp_path: Path, no_langchain_loader: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What LangChain's SQL caches store (a constructor to be revived) is refused, never revived."""
    monkeypatch.setenv("PROSA_TEST_SECRET", "s3cret")
    cache = SQLiteCache(database_path=tmp_path / "lc.db")
    constructor = dumpd(chat_generation())
    assert constructor["type"] == "constructor"
    for payload in (
        constructor,
        [constructor],
        {"lc": 1, "type": "secret", "id": ["PROSA_TEST_SECRET"]},
        {"lc": 1, "type": "constructor", "id": ["os", "system"], "kwargs": {"command": "true"}},
    ):
        _put(cache, json.dumps(payload))
        assert cache.lookup(PROMPT, LLM) is None


def test_a_constructor_inside_an_entry_stays_plain_data(tmp_path: Path, no_langchain_loader: None) -> None:
    cache = SQLiteCache(database_path=tmp_path / "lc.db")
    evil = {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain", "schema", "messages", "HumanMessage"],
        "kwargs": {"content": "x"},
    }
    secret = {"lc": 1, "type": "secret", "id": ["OPENAI_API_KEY"]}
    entry = {
        "v": "lc1",
        "g": [
            {
                "t": "ChatGeneration",
                "info": {"nested": evil},
                "msg": {
                    "type": "ai",
                    "content": [evil],
                    "additional_kwargs": {"key": secret},
                    "response_metadata": {},
                },
            },
            {"t": "Generation", "text": "plain", "info": {"secret": secret}},
        ],
    }
    _put(cache, json.dumps(entry))
    chat, plain = cache.lookup(PROMPT, LLM)
    assert type(chat.message) is AIMessage
    assert chat.message.content == [evil] and chat.message.additional_kwargs == {"key": secret}
    assert chat.generation_info == {"nested": evil} and plain.generation_info == {"secret": secret}


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00\xffnot json at all",
        b'{"v":"lc1"',
        b'{"v":"lc1","g":[]}',
        b'{"v":"lc1","g":[{"t":"HumanMessage","text":"x"}]}',
        b'{"v":"lc1","g":[{"t":"ChatGeneration","msg":{"content":"x","type":"human"}}]}',
        b'{"v":"lc1","g":[{"t":"ChatGeneration","msg":{"content":"x"}}]}',
        b'{"v":"lc1","g":[{"t":"ChatGeneration","msg":{"type":"ai","content":{"lc":1}}}]}',
        b'{"v":"lc1","g":[{"t":"ChatGeneration","msg":{"type":"ai","content":"x","usage_metadata":{"input_tokens":"many"}}}]}',
        b'{"v":"lc1","g":[{"t":"Generation","text":7}]}',
        b'{"v":"lc1","g":[{"t":"Generation","text":"x","info":"not a dict"}]}',
        b'{"v":"lc1","g":"not a list"}',
        b'{"v":1,"t":["a prosa entry"],"o":[0],"f":"stop","u":[0,0],"c":0,"model":"m","provider":"p"}',
    ],
)
def test_malformed_entries_are_misses(tmp_path: Path, raw: bytes, no_langchain_loader: None) -> None:
    cache = SQLiteCache(database_path=tmp_path / "lc.db")
    _put(cache, raw)
    assert cache.lookup(PROMPT, LLM) is None
    assert cache.stats()["misses"] == 1
