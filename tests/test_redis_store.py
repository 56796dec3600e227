"""RedisStore against a real redis-server: the store contract, sharing, TTL, locks and degradation."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time

import pytest

from prosa import Client
from prosa.cache.stores.redis import RedisStore
from prosa.errors import CacheError


@pytest.fixture
def redis_url(redis_server):
    redis_server.flush()
    return redis_server.url


def k(i: int) -> str:
    return f"{i:064x}"


def test_store_contract(redis_url):
    store = RedisStore(redis_url)
    assert store.get(k(1)) is None
    store.put(k(1), b"one")
    store.put(k(2), b"two")
    assert store.get(k(1)) == b"one"
    assert [e.key for e in store.scan()] == [k(2), k(1)]
    assert store.scan(limit=1)[0].size == 3
    assert store.delete(k(2)) is True and store.delete(k(2)) is False
    store.incr({"hits": 2, "usd_saved": 0.5})
    store.flush()
    assert RedisStore(redis_url).counters() == {"hits": 2.0, "usd_saved": 0.5}
    assert store.info()["entries"] == 1
    assert store.prune(time.time() + 1) == 1 and store.get(k(1)) is None
    store.put(k(3), b"x")
    assert store.clear() == 1 and store.scan() == []


def test_namespaces_do_not_mix(redis_url):
    a, b = RedisStore(redis_url, namespace="a"), RedisStore(redis_url, namespace="b")
    a.put(k(1), b"A")
    assert b.get(k(1)) is None and a.get(k(1)) == b"A"


def test_ttl_is_redis_expire(redis_url):
    store = RedisStore(redis_url, ttl=0.3)
    store.put(k(1), b"short")
    assert store.scan()[0].expires is not None
    time.sleep(0.5)
    assert store.get(k(1)) is None
    assert store.scan() == []  # the index forgets what Redis expired


def test_locks(redis_url):
    store = RedisStore(redis_url)
    token = store.lock(k(9), 5)
    assert token and store.lock(k(9), 5) is None and store.locked(k(9))
    store.unlock(k(9), "not-the-token")
    assert store.locked(k(9))
    store.unlock(k(9), token)
    assert not store.locked(k(9))
    assert store.lock(k(8), 0.1)
    time.sleep(0.2)
    assert store.lock(k(8), 1), "a lock whose holder died expires"


def test_hit_across_clients_stream_chunk_for_chunk(redis_url, scripted_upstream):
    def client():
        return Client(base_url=scripted_upstream.base_url, api_key="k", cache=redis_url)

    before = scripted_upstream.count()
    live = list(client().chat("shared", model="drip", stream=True))
    replay_stream = client().chat("shared", model="drip", stream=True)
    replay = list(replay_stream)
    assert replay_stream.reply.cached
    assert [c.text for c in replay] == [c.text for c in live] and len(replay) == 22
    assert scripted_upstream.count() - before == 1


def test_single_flight_across_processes(redis_url, scripted_upstream):
    code = (
        "import json, sys; from prosa import Client\n"
        f"c = Client(base_url={scripted_upstream.base_url!r}, api_key='k', cache={redis_url!r})\n"
        "r = c.chat('herd across processes', model='drip')\n"
        "print(json.dumps([r.text, r.cached]))"
    )
    before = scripted_upstream.count()
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(4)
    ]
    outs = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert scripted_upstream.count() - before == 1
    assert len({text for text, _ in outs}) == 1


def test_redis_down_and_back(redis_server, scripted_upstream, caplog):
    redis_server.flush()
    client = Client(base_url=scripted_upstream.base_url, api_key="k", cache=redis_server.url)
    client.chat("before", model="ok")
    assert client.chat("before", model="ok").cached
    redis_server.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="prosa"):
            for _ in range(5):
                assert client.chat("during", model="ok").text == "one two three four five"
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "cannot reach Redis" in warnings[0]
        assert client.cache.store_errors >= 5
    finally:
        redis_server.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the store retries by itself after a short pause
        client.chat("after", model="ok")
        if client.chat("after", model="ok").cached:
            break
        time.sleep(0.2)
    else:
        pytest.fail("caching did not resume after Redis came back")


def test_password_never_shown(redis_server):
    url = redis_server.url.replace("redis://", "redis://user:hunter2secret@")
    store = RedisStore(url)
    assert "hunter2secret" not in store.url and "hunter2secret" not in repr(store)
    redis_server.stop()
    try:
        with pytest.raises(CacheError) as info:
            store.get(k(1))
        assert "hunter2secret" not in str(info.value)
    finally:
        redis_server.start()


def test_a_restored_entry_keeps_its_created_time(redis_url):
    store = RedisStore(redis_url)
    old = time.time() - 10 * 86400
    store.put(k(1), b"old", created=old)
    store.put(k(2), b"new")
    assert [(e.key, round(e.created)) for e in store.scan()][1] == (k(1), round(old))
    assert store.prune(time.time() - 7 * 86400) == 1
    assert store.get(k(1)) is None and store.get(k(2)) == b"new"


def test_info_bytes_is_the_size_of_the_entries_not_the_server(redis_url):
    store = RedisStore(redis_url)
    store.put(k(1), b"x" * 100)
    store.put(k(2), b"y" * 50)
    info = store.info()
    assert (info["entries"], info["bytes"]) == (2, 150)
    assert info["server_memory"] > 100_000  # what "size" used to show: the whole Redis server
