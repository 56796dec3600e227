"""MemoryStore: the in-process LRU store."""

from __future__ import annotations

import hashlib
import random
import threading

import pytest

from prosa.cache.stores import EntryInfo, MemoryStore, Store


def k(name: object) -> str:
    return hashlib.sha256(str(name).encode()).hexdigest()


class FakeClock:
    """A unix clock that moves only when told to, so expiry needs no sleeping."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_is_a_store() -> None:
    store = MemoryStore()
    assert isinstance(store, Store)
    assert store.url == "memory"
    assert "memory" in repr(store)


def test_put_get_delete() -> None:
    store = MemoryStore()
    assert store.get(k(1)) is None
    store.put(k(1), b"one")
    store.put(k(2), bytearray(b"two"))  # copied to bytes: later changes to the buffer don't leak in
    assert store.get(k(1)) == b"one"
    assert store.get(k(2)) == b"two" and type(store.get(k(2))) is bytes
    store.put(k(1), b"uno")
    assert store.get(k(1)) == b"uno"
    assert store.delete(k(1)) is True
    assert store.delete(k(1)) is False
    assert store.get(k(1)) is None
    assert store.info() == {"url": "memory", "entries": 1, "bytes": 3, "max_entries": 10_000}


def test_rejects_bad_keys_values_and_ttls() -> None:
    store = MemoryStore()
    with pytest.raises(ValueError, match="64 lowercase hex"):
        store.put("ABC", b"x")
    with pytest.raises(ValueError):
        store.put(k(1).upper(), b"x")
    with pytest.raises(TypeError, match="bytes"):
        store.put(k(1), "text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ttl"):
        store.put(k(1), b"x", ttl=0)
    with pytest.raises(ValueError):
        MemoryStore(max_entries=0)
    assert store.info()["entries"] == 0


def test_ttl_default_and_per_entry() -> None:
    clock = FakeClock()
    store = MemoryStore(ttl=10, clock=clock)
    store.put(k("default"), b"d")
    store.put(k("long"), b"l", ttl=100)
    clock.advance(9.9)
    assert store.get(k("default")) == b"d"
    clock.advance(0.1)
    assert store.get(k("default")) is None  # expires exactly at created + ttl
    assert store.get(k("long")) == b"l"
    assert [e.key for e in store.scan()] == [k("long")]
    clock.advance(100)
    assert store.get(k("long")) is None
    assert store.scan() == []


def test_lru_eviction_by_count() -> None:
    store = MemoryStore(max_entries=3)
    for i in range(3):
        store.put(k(i), b"v%d" % i)
    assert store.get(k(0)) == b"v0"  # 0 is now the most recently used; 1 is the oldest
    store.put(k(3), b"v3")
    assert store.get(k(1)) is None
    assert [store.get(k(i)) for i in (0, 2, 3)] == [b"v0", b"v2", b"v3"]
    store.put(k(4), b"v4")  # 0 was read before 2 and 3, so it goes now
    assert store.get(k(0)) is None
    assert store.info()["entries"] == 3
    assert store.info()["bytes"] == 6


def test_scan_prune_clear() -> None:
    clock = FakeClock()
    t0 = clock.now
    store = MemoryStore(clock=clock)
    for i in range(5):  # entry i is created at t0 + 10 * i
        store.put(k(i), b"x" * (i + 1), ttl=50 if i == 4 else None)
        clock.advance(10)
    infos = store.scan()
    assert [e.key for e in infos] == [k(i) for i in (4, 3, 2, 1, 0)]
    assert infos[0] == EntryInfo(k(4), 5, clock.now - 10, clock.now - 10, clock.now + 40)
    assert [e.key for e in store.scan(limit=2)] == [k(4), k(3)]
    clock.advance(1)
    store.get(k(0))
    assert store.scan()[-1].accessed == clock.now
    clock.advance(45)  # entry 4 (created at t0 + 40, ttl 50) has expired
    assert store.prune(older_than=t0 + 15) == 3  # 0 and 1 by age, 4 because it expired
    assert sorted(e.key for e in store.scan()) == sorted([k(2), k(3)])
    assert store.clear() == 2
    assert store.info()["entries"] == 0 and store.info()["bytes"] == 0


def test_counters() -> None:
    store = MemoryStore()
    assert store.counters() == {}
    store.incr({"hits": 1, "tokens_saved": 120})
    store.incr({"hits": 1, "misses": 1})
    assert store.counters() == {"hits": 2, "tokens_saved": 120, "misses": 1}
    store.clear()  # entries only: statistics survive
    assert store.counters()["hits"] == 2


def test_context_manager_and_flush_are_harmless() -> None:
    with MemoryStore() as store:
        store.put(k(1), b"x")
        store.flush()
    assert store.get(k(1)) == b"x"


def test_threads_keep_the_store_consistent() -> None:
    store = MemoryStore(max_entries=50)
    keys = [k(i) for i in range(80)]
    errors: list[BaseException] = []

    def run(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(3000):
                key = rng.choice(keys)
                if rng.random() < 0.5:
                    value = store.get(key)
                    assert value is None or value == key.encode() * (len(value) // 64)
                else:
                    store.put(key, key.encode() * rng.randint(1, 4))
                store.incr({"ops": 1})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.counters() == {"ops": 8 * 3000}
    infos = store.scan()
    assert len(infos) == store.info()["entries"] <= 50
    assert sum(e.size for e in infos) == store.info()["bytes"]


def test_a_restored_entry_keeps_its_created_time() -> None:
    import time

    store = MemoryStore()
    old = time.time() - 10 * 86400
    store.put(k(1), b"old", created=old)
    store.put(k(2), b"new")
    assert [info.key for info in store.scan()] == [k(2), k(1)]
    assert store.scan()[1].created == old
    assert store.prune(time.time() - 7 * 86400) == 1
    assert store.get(k(1)) is None and store.get(k(2)) == b"new"
