"""Question vectors in Redis, shared by every replica using the store: replica B finds what A answered.

Layout (``ns`` is the store's namespace; ``{p}`` a partition's fingerprint, its hash tag on a cluster):

- ``ns:v:{p}``   a hash: entry key -> question (UTF-8) + NUL + the vector's float32 bytes
- ``ns:vv:{p}``  the partition's version, bumped by every add and remove
- ``ns:vp:{key}`` the partition of an entry's vector (so ``remove(key)`` finds it), with the entry's TTL

A search reads the version (one round trip) and reloads the partition's hash only when another
replica changed it, then scores locally (one mat-vec). An entry that expired or was evicted loses its
vector the first time a search meets it (SemanticCache drops it), the partition's hash expires with
its newest entry, and ``ns:vp:`` names expire with their entries.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ...errors import CacheError
from .index import Match, Partition, VectorIndex

_SEP = b"\0"


class RedisVectorIndex(VectorIndex):
    """Vectors by partition in the Redis of a :class:`RedisStore` (its client, breaker and names)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        ns = store.namespace
        self._v, self._vv, self._vp = f"{ns}:v:", f"{ns}:vv:", f"{ns}:vp:"
        self._local: dict[str, tuple[int, Partition]] = {}  # partition -> (version loaded, vectors)
        self._lock = threading.Lock()

    def _names(self, partition: str) -> tuple[str, str]:
        return f"{self._v}{{{partition}}}", f"{self._vv}{{{partition}}}"

    def _ttl_ms(self) -> int | None:
        ttl = self.store.ttl
        return None if ttl is None else max(1, int(ttl * 1000))

    def add(self, partition: str, key: str, question: str, vector: np.ndarray) -> None:
        hash_name, version = self._names(partition)
        value = question.encode() + _SEP + np.asarray(vector, dtype=np.float32).tobytes()
        ttl = self._ttl_ms()
        client = self.store._client

        def write() -> None:
            pipe = client.pipeline(transaction=not self.store.cluster)  # one slot: {partition}
            pipe.hset(hash_name, key, value)
            pipe.incr(version)
            if ttl is not None:  # the partition outlives its newest entry by nothing
                pipe.pexpire(hash_name, ttl)
                pipe.pexpire(version, ttl)
            pipe.execute()
            client.set(f"{self._vp}{{{key}}}", partition, px=ttl)

        self.store._call(write, "indexing a question")

    def search(self, partition: str, vector: np.ndarray, threshold: float, limit: int) -> list[Match]:
        hash_name, version_name = self._names(partition)
        client = self.store._client
        raw_version = self.store._call(lambda: client.get(version_name), "reading the vector index")
        version = int(raw_version or 0)
        with self._lock:
            known = self._local.get(partition)
        if known is None or known[0] != version:
            if not version:
                with self._lock:
                    self._local.pop(partition, None)
                return []
            rows = self.store._call(lambda: client.hgetall(hash_name), "reading the vector index")
            part = Partition(vector.shape[0])
            for key, value in rows.items():
                question, _, blob = value.partition(_SEP)
                row = np.frombuffer(blob, dtype=np.float32)
                if row.shape == vector.shape:
                    part.add(key.decode(), question.decode(errors="replace"), row)
            known = (version, part)
            with self._lock:
                self._local[partition] = known
                if len(self._local) > 4096:  # bounded: a partition not searched lately is reloaded
                    self._local.pop(next(iter(self._local)))
        return known[1].search(vector, threshold, limit)

    def remove(self, key: str) -> None:
        client = self.store._client
        where = f"{self._vp}{{{key}}}"

        def forget() -> None:
            partition = client.get(where)
            if partition is None:
                return
            hash_name, version = self._names(partition.decode())
            pipe = client.pipeline(transaction=not self.store.cluster)
            pipe.hdel(hash_name, key)
            pipe.incr(version)
            pipe.execute()
            client.delete(where)

        self.store._call(forget, "removing a question")

    def count(self) -> int:
        client = self.store._client

        def total() -> int:
            n = 0
            for name in client.scan_iter(match=f"{self._v}*", count=1000):
                n += int(client.hlen(name))
            return n

        try:
            return int(self.store._call(total, "counting vectors"))
        except CacheError:
            return 0
