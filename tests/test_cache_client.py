"""The response cache through Client/AsyncClient, with real SQLite files and real upstreams."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from prosa import AsyncClient, Client
from prosa.cache import MemoryStore, SQLiteStore
from prosa.errors import StreamInterrupted, UpstreamError


def scripted(upstream, cache, **kw):
    return Client(base_url=upstream.base_url, api_key="sk-k", max_retries=0, cache=cache, **kw)


def test_second_identical_question_is_a_hit_with_no_upstream_call(scripted_upstream, tmp_path):
    client = scripted(scripted_upstream, SQLiteStore(tmp_path / "c.db"))
    before = scripted_upstream.count()
    first = client.chat("Name a prime number", model="ok", temperature=0)
    second = client.chat("Name a prime number", model="ok", temperature=0)
    assert scripted_upstream.count() - before == 1
    assert first.cached is False and second.cached is True
    assert second.text == first.text == "one two three four five"
    assert second.usage.total_tokens == first.usage.total_tokens == 8
    assert second.finish_reason == "stop" and second.model == "ok" and second.provider == "openai"


def test_persistence_across_processes_without_loading_the_model(tmp_path):
    db = tmp_path / "answers.db"
    code = (
        "import json, sys; from prosa import Client\n"
        f"r = Client(cache={str(db)!r}).chat('Name a color', model='local', max_tokens=6, temperature=0)\n"
        "print(json.dumps([r.text, r.cached, 'llama_cpp' in sys.modules, 'openai' in sys.modules]))"
    )
    runs = [json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout) for _ in range(2)]  # fmt: skip
    assert runs[0][1:] == [False, True, False]
    # The second process answered from the file: llama.cpp and the openai SDK were never imported.
    assert runs[1] == [runs[0][0], True, False, False]


def test_stream_replay_is_identical_chunk_for_chunk():
    client = Client("local", cache=MemoryStore())
    live = list(client.chat("List three animals.", stream=True, max_tokens=16, temperature=0))
    replay_stream = client.chat("List three animals.", stream=True, max_tokens=16, temperature=0)
    replay = list(replay_stream)
    assert replay_stream.reply.cached is True
    assert [c.text for c in replay] == [c.text for c in live]
    assert len(replay) == len(live) > 3
    assert [c.data for c in replay] == [c.data for c in live]  # every field of every chunk
    # The finish chunk, then the usage chunk (no choices), as OpenAI streams with include_usage.
    assert replay[-2].finish_reason == live[-2].finish_reason is not None
    assert [c.finish_reason for c in replay[:-2]] == [None] * (len(replay) - 2)
    assert replay[-1].usage is not None and replay[-1].data["choices"] == []


def test_stream_and_whole_share_entries_both_ways(scripted_upstream):
    client = scripted(scripted_upstream, MemoryStore())
    before = scripted_upstream.count()
    whole = client.chat("a", model="ok")
    streamed = client.chat("a", model="ok", stream=True)
    assert streamed.cached and [c.text for c in streamed] == [
        "one",
        " two",
        " three",
        " four",
        " five",
        "",
        "",
    ]
    live = list(client.chat("b", model="ok", stream=True))
    later = client.chat("b", model="ok")
    assert later.cached and later.text == "".join(c.text for c in live) == whole.text
    assert scripted_upstream.count() - before == 2


@pytest.mark.parametrize(
    "change",
    [
        {"model": "drip"},
        {"system": "You are a pirate."},
        {"temperature": 0.5},
        {"prompt": "Another question"},
        {"max_tokens": 9},
        {"stop": ["x"]},
        {"seed": 3},
        {"top_p": 0.5},
    ],
)
def test_key_sensitivity(scripted_upstream, change):
    client = scripted(scripted_upstream, MemoryStore())
    base = {"prompt": "Question", "model": "ok", "temperature": 0}
    first = client.chat(base["prompt"], model="ok", temperature=0)
    args = {**base, **change}
    prompt = args.pop("prompt")
    second = client.chat(prompt, **args)
    assert first.cached is False and second.cached is False
    again = client.chat(prompt, stream=True, **args)  # the stream flag is not in the key
    assert again.cached is True


def test_key_ignores_api_key_and_timeout_but_not_base_url(scripted_upstream):
    store = MemoryStore()
    Client(base_url=scripted_upstream.base_url, api_key="one", cache=store).chat("q", model="ok")
    hit = Client(base_url=scripted_upstream.base_url, api_key="two", timeout=5, cache=store).chat(
        "q", model="ok"
    )
    assert hit.cached
    # The same server under another URL is another provider identity, so another key.
    alias = scripted_upstream.base_url.replace("127.0.0.1", "localhost")
    assert not Client(base_url=alias, api_key="one", cache=store).chat("q", model="ok").cached


def test_ttl_expiry_and_eviction(scripted_upstream):
    client = scripted(scripted_upstream, MemoryStore(ttl=0.3))
    client.chat("ttl", model="ok")
    assert client.chat("ttl", model="ok").cached
    time.sleep(0.4)
    assert not client.chat("ttl", model="ok").cached
    small = scripted(scripted_upstream, MemoryStore(max_entries=2))
    for q in ("q1", "q2", "q3"):
        small.chat(q, model="ok")
    assert not small.chat("q1", model="ok").cached  # the least recently used went first
    assert small.chat("q3", model="ok").cached


def test_reader_stopping_early_is_never_stored(scripted_upstream):
    client = scripted(scripted_upstream, MemoryStore())
    stream = client.chat("early", model="drip", stream=True)
    next(iter(stream))
    stream.close()
    assert client.chat("early", model="drip", use_cache=True, stream=True).cached is False


def test_cut_stream_and_errors_are_never_stored(scripted_upstream, tmp_path):
    client = scripted(scripted_upstream, SQLiteStore(tmp_path / "c.db"))
    with pytest.raises(StreamInterrupted):
        list(client.chat("cut", model="cut", stream=True))
    with pytest.raises(UpstreamError):
        client.chat("err", model="status-500")
    client.cache.store.flush()
    assert client.cache.store.scan() == []


def test_local_model_stream_stopped_early_is_not_stored():
    client = Client("local", cache=MemoryStore())
    with client.chat("Tell me a long story.", stream=True, max_tokens=64, temperature=0) as stream:
        for i, _ in enumerate(stream):
            if i == 2:
                break
    assert client.cache.store.scan() == []


def test_single_flight_threads_one_upstream_call(scripted_upstream):
    client = scripted(scripted_upstream, MemoryStore())
    before = scripted_upstream.count()
    results: list = []
    barrier = threading.Barrier(8)

    def ask():
        barrier.wait()
        results.append(client.chat("herd", model="drip", stream=True).reply)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert scripted_upstream.count() - before == 1
    assert (
        len(results) == 8 and len({r.text for r in results}) == 1 and results[0].chunks == 22
    )  # 20 words, the finish, the usage


def test_single_flight_async_one_upstream_call(scripted_upstream):
    async def main():
        client = AsyncClient(base_url=scripted_upstream.base_url, api_key="k", cache=MemoryStore())
        return await asyncio.gather(*[client.chat("aherd", model="drip") for _ in range(8)])

    before = scripted_upstream.count()
    replies = asyncio.run(main())
    assert scripted_upstream.count() - before == 1
    assert len({r.text for r in replies}) == 1


def test_nondeterministic_policy(scripted_upstream):
    client = scripted(scripted_upstream, MemoryStore(), cache_nondeterministic=False)
    client.chat("p", model="ok", temperature=0.7)
    assert not client.chat("p", model="ok", temperature=0.7).cached
    client.chat("p", model="ok", temperature=0.7, seed=1)
    assert client.chat("p", model="ok", temperature=0.7, seed=1).cached
    client.chat("p", model="ok", temperature=0)
    assert client.chat("p", model="ok", temperature=0).cached
    assert client.cache.stats()["bypasses"] == 2
    default = scripted(scripted_upstream, MemoryStore())
    default.chat("p", model="ok", temperature=1.5)
    assert default.chat("p", model="ok", temperature=1.5).cached


def test_refresh_overwrites_and_use_cache_false_bypasses(scripted_upstream):
    client = scripted(scripted_upstream, MemoryStore())
    before = scripted_upstream.count()
    client.chat("r", model="ok")
    fresh = client.chat("r", model="ok", refresh=True)
    assert fresh.cached is False
    assert client.chat("r", model="ok").cached
    bypass = client.chat("r", model="ok", use_cache=False)
    assert bypass.cached is False
    assert scripted_upstream.count() - before == 3


def test_stats_count_hits_misses_tokens_and_money(scripted_upstream, prosa_home):
    (prosa_home / "config").mkdir(parents=True)
    (prosa_home / "config" / "config.toml").write_text(
        '[prices]\n"ok" = { input = 1000.0, output = 2000.0 }\n'
    )
    client = scripted(scripted_upstream, MemoryStore())
    client.chat("s", model="ok")
    client.chat("s", model="ok")
    client.chat("s", model="ok")
    s = client.cache.stats()
    assert (s["hits"], s["misses"], s["tokens_saved"]) == (2, 1, 16)
    assert s["usd_saved"] == pytest.approx(2 * (3 * 1000 + 5 * 2000) / 1e6)
    assert s["hit_rate"] == pytest.approx(2 / 3, abs=1e-3)


def test_no_secret_lands_in_the_database(scripted_upstream, tmp_path):
    secret = "sk-live-very-secret-0123456789abcdef"
    db = tmp_path / "s.db"
    client = Client(base_url=scripted_upstream.base_url, api_key=secret, cache=SQLiteStore(db))
    client.chat("secret?", model="ok")
    client.chat("secret?", model="ok")
    client.close()
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("s.db"))
    assert b"secret?" in blob  # the scan does see the file's content
    assert secret.encode() not in blob and secret[8:24].encode() not in blob


def test_corrupt_file_warns_once_and_answers(scripted_upstream, tmp_path, caplog):
    db = tmp_path / "broken.db"
    db.write_bytes(b"this is not sqlite at all" * 100)
    with caplog.at_level(logging.WARNING, logger="prosa"):
        client = scripted(scripted_upstream, str(db))
        first = client.chat("c", model="ok")
        second = client.chat("c", model="ok")
    assert first.text == second.text == "one two three four five"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(db) in warnings[0]
    assert db.read_bytes().startswith(b"this is not sqlite")  # never overwritten


def test_locked_database_answers_anyway_and_keeps_entries(scripted_upstream, tmp_path, caplog):
    db = tmp_path / "locked.db"
    store = SQLiteStore(db, busy_timeout=0.2)
    client = scripted(scripted_upstream, store)
    client.chat("kept", model="ok")
    store.flush()
    holder = sqlite3.connect(db)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level(logging.WARNING, logger="prosa"):
            reply = client.chat("while locked", model="ok")
        assert reply.text == "one two three four five"
        assert any("locked" in r.getMessage() for r in caplog.records)
    finally:
        holder.rollback()
        holder.close()
    assert client.chat("kept", model="ok").cached


def test_cache_dir_that_cannot_be_created(scripted_upstream, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with caplog.at_level(logging.WARNING, logger="prosa"):
        client = scripted(scripted_upstream, str(blocker / "cache.db"))
        assert client.chat("q", model="ok").text
    assert any(str(blocker) in r.getMessage() for r in caplog.records)


def test_paced_replay_keeps_the_original_rhythm(scripted_upstream):
    client = scripted(scripted_upstream, MemoryStore())
    live = list(client.chat("paced", model="drip", stream=True))
    start = time.perf_counter()
    paced = list(client.chat("paced", model="drip", stream=True, pace=True))
    elapsed_ms = (time.perf_counter() - start) * 1000
    assert [c.text for c in paced] == [c.text for c in live]
    # Each chunk is released no sooner than it first arrived (a lower bound set by sleeps, not a speed claim).
    assert elapsed_ms >= paced[-1].offset_ms > paced[0].offset_ms
    instant = list(client.chat("paced", model="drip", stream=True))
    assert [c.text for c in instant] == [c.text for c in live]


def test_two_memory_caches_never_share_an_answer_in_flight(scripted_upstream):
    """Each cache stores its own answer, even when the same question is in flight for both at once."""
    import threading

    first, second = scripted(scripted_upstream, MemoryStore()), scripted(scripted_upstream, MemoryStore())
    barrier = threading.Barrier(2)

    def ask(client):
        barrier.wait()
        client.chat("same question, two caches", model="drip")

    threads = [threading.Thread(target=ask, args=(c,)) for c in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for client in (first, second):
        assert client.chat("same question, two caches", model="drip").cached is True
