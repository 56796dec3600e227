"""A store in Redis (or Valkey), shared by every process and gateway replica that points at it.

Design, and why:

- One Redis string per entry (``{ns}:e:{key}``), written once, whole, with ``SET ... EX`` when a
  TTL applies: Redis's own expiry is the TTL, and Redis's ``maxmemory-policy`` (``allkeys-lru``
  recommended) is the eviction. A sorted set ``{ns}:created`` indexes entries by creation time for
  ``scan`` and ``prune``; it may name entries Redis has since evicted, which are skipped and tidied.
- Counters live in one Redis hash, so every replica sees the same statistics. Deltas are batched
  in memory and sent at most once a second (and at close/exit), so a hit costs one round trip.
- Redis going away never fails a request: a connection error marks the store down for a short
  while (no waiting on a dead server for every request), raises :class:`CacheError` so the
  cache is bypassed, and the next attempt after the pause reconnects by itself.
- ``lock``/``unlock`` give the cache a cross-replica single-flight: a ``SET NX PX`` lock with
  expiry, released only by its holder, and gone by itself if the holder dies.
- Async callers (the gateway, AsyncClient) use :meth:`RedisStore.async_side`: the same keys
  through ``redis.asyncio``, each call bounded by ``budget`` seconds (default 0.05, or
  ``?budget_ms=`` in the URL), behind one circuit breaker shared with this sync side.
- Redis Cluster: ``redis+cluster://host:port`` (or a ``redis://`` node that reports
  ``cluster_enabled:1``) goes through redis-py's ``RedisCluster``. The names of one request's
  entry, lock and stream share a hash tag (``prosa:e:{key}``), so they live in one slot.
"""

from __future__ import annotations

import atexit
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from typing import Any

from prosa.errors import CacheError, ConfigError

from ..breaker import Breaker
from .base import EntryInfo, Store, as_bytes, check_key, expiry
from .redis_url import _reports_cluster, safe_url, split_url

__all__ = ["RedisStore"]

_BATCH_SECONDS = 1.0
_DOWN_SECONDS = 1.0  # once the breaker is open, bypass Redis this long before one probe
_FAILURES = 3  # failures in a row that open the breaker
BUDGET = 0.05  # seconds an async call may take before the request goes on without the cache
_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class RedisStore(Store):
    """Keep entries in Redis at ``url`` (``redis://host:port/db``, ``rediss://`` for TLS; a password
    goes in the URL or ``PROSA_REDIS_URL``). ``ttl``: default time to live in seconds.
    ``namespace`` prefixes every key, so several caches can share one Redis."""

    supports_locks = True

    def __init__(
        self,
        url: str,
        ttl: float | None = None,
        namespace: str = "prosa",
        *,
        socket_timeout: float = 1.0,
        budget: float | None = None,
        cluster: bool | None = None,
        breaker: Breaker | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        try:
            import redis
        except ImportError:
            raise ConfigError("the Redis store needs redis-py: pip install 'prosa[redis]'") from None
        expiry(0.0, ttl)
        self.ttl = ttl
        self.namespace = namespace
        self.url = safe_url(url)
        self._clock = clock
        self._errors = (redis.ConnectionError, redis.TimeoutError)
        self._redis_error = redis.RedisError
        plain_url, said_cluster, url_budget = split_url(url)
        self.budget = budget if budget is not None else url_budget if url_budget is not None else BUDGET
        self.breaker = breaker or Breaker(_FAILURES, _DOWN_SECONDS)
        self._options = {"socket_timeout": socket_timeout, "socket_connect_timeout": socket_timeout}
        self._plain_url = plain_url  # holds the password: never shown, only given to redis-py
        try:
            if cluster is None:
                cluster = (
                    said_cluster if said_cluster is not None else _reports_cluster(plain_url, socket_timeout)
                )
            self.cluster = cluster
            if cluster:
                from redis.cluster import RedisCluster

                self._client: Any = RedisCluster.from_url(plain_url, **self._options)
            else:
                self._client = redis.Redis.from_url(plain_url, health_check_interval=30, **self._options)
        except ValueError as e:
            raise ConfigError(f"invalid Redis URL {self.url}: {e}") from None
        except Exception as e:  # noqa: BLE001 - a cluster that cannot be reached to learn its slots
            raise CacheError(
                f"cannot reach Redis Cluster at {self.url} ({' '.join(str(e).split())})"
            ) from None
        self._entry = f"{namespace}:e:"
        self._created = f"{namespace}:created"
        self._counters_key = f"{namespace}:counters"
        self._lock_prefix = f"{namespace}:lock:"
        self.stream_prefix = f"{namespace}:s:"
        self._down_message = ""
        self._pending: dict[str, float] = {}
        self._pending_lock = threading.Lock()
        self._batch_at = clock()
        self.background_flush = False  # set by the async side, which then sends the counters itself
        self._unlock_script = self._client.register_script(_UNLOCK)
        self._async: Any = None
        self._fanout: Any = None
        _live.add(self)

    # -- names: one request's entry, lock and stream share the hash tag {key}, so one cluster slot --

    def entry_name(self, key: str) -> str:
        return f"{self._entry}{{{key}}}"

    def lock_name(self, key: str) -> str:
        return f"{self._lock_prefix}{{{key}}}"

    def stream_name(self, key: str) -> str:
        return f"{self.stream_prefix}{{{key}}}"

    def async_side(self) -> Any:
        """The same store for asyncio code: ``redis.asyncio``, bounded calls, this store's breaker."""
        if self._async is None:
            from .redis_async import AsyncRedisSide

            self._async = AsyncRedisSide(self)
        return self._async

    def fanout(self) -> Any:
        """Live fan-out of in-flight answers to followers on other replicas (Redis Streams)."""
        if self._fanout is None:
            from ..fanout import Fanout

            self._fanout = Fanout(self)
        return self._fanout

    # -- failure handling ------------------------------------------------------------------------

    def down(self, error: BaseException) -> CacheError:
        """Count a failure to reach Redis (the breaker may open) and return the error to raise."""
        self.breaker.failure()
        detail = " ".join(str(error).split()) or type(error).__name__
        self._down_message = (
            f"cannot reach Redis at {self.url} ({detail}); answering without the cache until it is back"
        )
        return CacheError(self._down_message)

    def refused(self) -> CacheError:
        """The error for a call the open breaker did not let through (the same words: warned once)."""
        return CacheError(self._down_message or f"Redis at {self.url} is unavailable")

    def _call(self, fn: Callable[[], Any], doing: str) -> Any:
        breaker = self.breaker
        if not breaker.allow():
            raise self.refused()
        try:
            result = fn()
        except self._errors as e:
            raise self.down(e) from None
        except self._redis_error as e:
            breaker.success()  # it answered, with an error
            raise CacheError(f"Redis at {self.url} failed while {doing}: {e}") from None
        breaker.success()
        return result

    # -- entries ---------------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        value = self._call(lambda: self._client.get(self.entry_name(key)), "reading an entry")
        self._maybe_flush()
        return value  # type: ignore[no-any-return]

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        if not keys:
            return []
        names = [self.entry_name(key) for key in keys]
        mget = self._client.mget_nonatomic if self.cluster else self._client.mget
        values = self._call(lambda: mget(names), "reading entries")  # one round trip (one per node)
        self._maybe_flush()
        return list(values)

    def put(self, key: str, value: bytes, ttl: float | None = None, created: float | None = None) -> None:
        check_key(key)
        value = as_bytes(value)
        now = self._clock()
        expires = expiry(now, ttl if ttl is not None else self.ttl)

        def write() -> None:
            # MULTI/EXEC: the value and its index together (on a cluster they live in two slots).
            pipe = self._client.pipeline(transaction=not self.cluster)
            if expires is None:
                pipe.set(self.entry_name(key), value)
            else:
                pipe.set(self.entry_name(key), value, px=max(1, int((expires - now) * 1000)))
            pipe.zadd(self._created, {key: now if created is None else created})
            pipe.execute()

        self._call(write, "writing an entry")
        self._maybe_flush()

    def delete(self, key: str) -> bool:
        def remove() -> int:
            pipe = self._client.pipeline(transaction=not self.cluster)
            pipe.delete(self.entry_name(key))
            pipe.zrem(self._created, key)
            return int(pipe.execute()[0])

        return bool(self._call(remove, "deleting an entry"))

    def scan(self, limit: int | None = None) -> list[EntryInfo]:
        def read() -> list[EntryInfo]:
            out: list[EntryInfo] = []
            start = 0
            page = 500
            while limit is None or len(out) < limit:
                rows = self._client.zrevrange(self._created, start, start + page - 1, withscores=True)
                if not rows:
                    break
                start += page
                pipe = self._client.pipeline(transaction=False)
                for member, _ in rows:
                    name = self.entry_name(member.decode())
                    pipe.strlen(name)
                    pipe.pttl(name)
                results = pipe.execute()
                gone = []
                for i, (member, created) in enumerate(rows):
                    size, pttl = results[2 * i], results[2 * i + 1]
                    if pttl == -2:  # expired or evicted by Redis: tidy the index
                        gone.append(member)
                        continue
                    expires = None if pttl < 0 else self._clock() + pttl / 1000
                    out.append(EntryInfo(member.decode(), int(size), created, created, expires))
                if gone:
                    self._client.zrem(self._created, *gone)
                    start -= len(gone)
            return out if limit is None else out[:limit]

        return self._call(read, "listing entries")  # type: ignore[no-any-return]

    def prune(self, older_than: float) -> int:
        def remove() -> int:
            old = self._client.zrangebyscore(self._created, "-inf", f"({older_than}")
            count = 0
            for i in range(0, len(old), 500):
                batch = old[i : i + 500]
                count += self._client.delete(*[self.entry_name(m.decode()) for m in batch])
                self._client.zrem(self._created, *batch)
            return count

        return self._call(remove, "pruning entries")  # type: ignore[no-any-return]

    def clear(self) -> int:
        def remove() -> int:
            count = 0
            batch = []
            for name in self._client.scan_iter(match=self._entry + "*", count=1000):
                batch.append(name)
                if len(batch) >= 500:
                    count += self._client.delete(*batch)
                    batch = []
            if batch:
                count += self._client.delete(*batch)
            self._client.delete(self._created)
            return count

        return self._call(remove, "clearing")  # type: ignore[no-any-return]

    # -- counters --------------------------------------------------------------------------------

    def incr(self, deltas: dict[str, float]) -> None:
        with self._pending_lock:
            for name, delta in deltas.items():
                self._pending[name] = self._pending.get(name, 0) + delta
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if self.background_flush:
            return  # the async side sends the counters from its own task
        if self._pending and self._clock() - self._batch_at > _BATCH_SECONDS:
            try:
                self.flush()
            except CacheError:
                pass  # the deltas stay pending; the request goes on

    def flush(self) -> None:
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        self._batch_at = self._clock()
        if not pending:
            return

        def write() -> None:
            pipe = self._client.pipeline(transaction=False)
            for name, delta in pending.items():
                pipe.hincrbyfloat(self._counters_key, name, delta)
            pipe.execute()

        try:
            self._call(write, "saving counters")
        except CacheError:
            with self._pending_lock:  # keep them for the next attempt
                for name, delta in pending.items():
                    self._pending[name] = self._pending.get(name, 0) + delta
            raise

    def counters(self) -> dict[str, float]:
        raw = self._call(lambda: self._client.hgetall(self._counters_key), "reading counters")
        out = {k.decode(): float(v) for k, v in raw.items()}
        with self._pending_lock:
            for name, delta in self._pending.items():
                out[name] = out.get(name, 0) + delta
        return out

    def info(self) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            entries = int(self._client.zcard(self._created))
            memory = self._client.info("memory")
            # "bytes" is the size of this namespace's entries, as for the other stores (Redis's
            # used_memory is the whole server's, 1 MB for one entry): exact up to _SIZE_SAMPLE entries,
            # beyond that the newest _SIZE_SAMPLE's average times the count.
            members = self._client.zrevrange(self._created, 0, _SIZE_SAMPLE - 1)
            pipe = self._client.pipeline(transaction=False)
            for member in members:
                pipe.strlen(self.entry_name(member.decode()))
            sample = sum(int(n) for n in pipe.execute()) if members else 0
            size = sample if entries <= len(members) else round(sample / len(members) * entries)
            return {
                "url": self.url,
                "entries": entries,
                "bytes": size,
                "server_memory": int(memory.get("used_memory", 0)),
                "maxmemory_policy": memory.get("maxmemory_policy"),
            }

        return self._call(read, "reading info")  # type: ignore[no-any-return]

    # -- cross-replica single-flight -------------------------------------------------------------

    def lock(self, key: str, ttl: float) -> str | None:
        """Take the lock for ``key`` for ``ttl`` seconds; return its token, or None if another holds it."""
        token = uuid.uuid4().hex
        ok = self._call(
            lambda: self._client.set(self.lock_name(key), token, nx=True, px=max(1, int(ttl * 1000))),
            "taking a lock",
        )
        return token if ok else None

    def locked(self, key: str) -> bool:
        return bool(self._call(lambda: self._client.exists(self.lock_name(key)), "checking a lock"))

    def unlock(self, key: str, token: str) -> None:
        """Release the lock if this token still holds it (an expired lock may belong to another)."""
        self._call(lambda: self._unlock_script(keys=[self.lock_name(key)], args=[token]), "releasing a lock")

    def take_pending(self) -> dict[str, float]:
        """The batched counter deltas, handed over to be sent (by the async side)."""
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        self._batch_at = self._clock()
        return pending

    def restore_pending(self, pending: dict[str, float]) -> None:
        with self._pending_lock:
            for name, delta in pending.items():
                self._pending[name] = self._pending.get(name, 0) + delta

    def close(self) -> None:
        try:
            self.flush()
        except CacheError:
            pass
        _live.discard(self)
        self._client.close()


_SIZE_SAMPLE = 1000  # entries whose sizes `info` adds up; a larger cache's size is extrapolated

_live: weakref.WeakSet[RedisStore] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    for store in list(_live):
        try:
            store.flush()
        except Exception:  # noqa: BLE001 - at exit there is no one left to tell
            pass
