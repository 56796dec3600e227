"""The Redis store on a real 3-master Redis Cluster: the store contract, sync and async, cluster
detected from a plain node URL, and hash-tagged names (one request's entry, lock, stream: one slot)."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis
from redis.cluster import RedisCluster

from prosa.cache.stores.redis import RedisStore


def k(i: int) -> str:
    return f"{i:064x}"


@pytest.fixture
def cluster(redis_cluster):
    redis_cluster.flush()
    return redis_cluster


def test_cluster_store_contract_across_slots(cluster):
    store = RedisStore(cluster.url, namespace="c1")
    assert store.cluster
    keys = [k(i) for i in range(40)]
    for i, key in enumerate(keys):
        store.put(key, b"v%d" % i)
    raw = RedisCluster.from_url(cluster.node_url)
    slots = {raw.keyslot(store.entry_name(key)) for key in keys}
    owners = {raw.get_node_from_key(store.entry_name(key)).port for key in keys}
    assert len(slots) > 10 and len(owners) == 3  # the entries really are spread over the three masters
    assert store.get(keys[7]) == b"v7"
    assert store.get_many([keys[0], k(999), keys[39]]) == [b"v0", None, b"v39"]
    assert len(store.scan()) == 40 and len(store.scan(limit=5)) == 5
    assert store.delete(keys[0]) and not store.delete(keys[0])
    store.incr({"hits": 2})
    store.flush()
    assert store.counters()["hits"] == 2
    assert store.prune(time.time() + 1) == 39
    store.put(keys[1], b"again")
    assert store.clear() == 1 and store.get(keys[1]) is None
    store.close()


def test_cluster_detected_from_a_plain_node_url_and_names_share_a_slot(cluster):
    store = RedisStore(cluster.node_url, namespace="c2")
    assert store.cluster
    key = k(5)
    slots = {
        redis.cluster.key_slot(n.encode())
        for n in (store.entry_name(key), store.lock_name(key), store.stream_name(key))
    }
    assert len(slots) == 1
    token = store.lock(key, 5)
    assert token and store.locked(key) and store.lock(key, 5) is None
    store.unlock(key, token)
    assert not store.locked(key)
    store.close()


def test_cluster_async_side(cluster):
    store = RedisStore(cluster.url, namespace="c3")
    side = store.async_side()

    async def run() -> None:
        await side.put(k(1), b"async")
        assert await side.get(k(1)) == b"async"
        assert await side.get(k(2)) is None
        token = await side.lock(k(1), 5)
        assert token and await side.locked(k(1))
        await side.unlock(k(1), token)
        assert not await side.locked(k(1))
        side.incr({"hits": 3})
        await side.flush()
        await side.aclose()

    asyncio.run(run())
    assert store.get(k(1)) == b"async" and store.counters()["hits"] == 3
    store.close()
