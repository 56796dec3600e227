"""The asyncio side of a RedisStore: the same keys through ``redis.asyncio``, for the event loop.

Every call is bounded by the store's budget (0.05 s unless configured): a Redis that is hung
(SIGSTOP, ``DEBUG SLEEP``), slow or gone costs a request at most that long, after which the request
goes on without the cache. Failures feed the store's circuit breaker (shared with the sync side):
once it is open, calls are refused at once, and one probe is let through after a second.

Counter deltas are batched in the store and sent once a second by a task on the loop, so a hit is
one round trip (a GET). A redis.asyncio client belongs to one event loop: one is made per loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from prosa.errors import CacheError

from .base import as_bytes, check_key, expiry

if TYPE_CHECKING:
    from .redis import RedisStore

__all__ = ["AsyncRedisSide"]

log = logging.getLogger("prosa.cache")
_T = TypeVar("_T")
_FLUSH_SECONDS = 1.0
_FLUSH_BUDGET = 1.0
_WARM_BUDGET = 0.5  # once per process, before the first call
_POOL_SIZE = 8
_WARM_CONNECTIONS = _POOL_SIZE  # counters are not on a request's path: they may take longer


class AsyncRedisSide:
    """Async get/put/locks/counters over a :class:`RedisStore`'s keys, each call within ``budget`` s."""

    def __init__(self, store: RedisStore) -> None:
        import redis

        self.store = store
        self.budget = store.budget
        self.breaker = store.breaker
        self._errors = (TimeoutError, OSError, redis.ConnectionError, redis.TimeoutError)
        self._redis_error = redis.RedisError
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None
        self._flusher: asyncio.Task[None] | None = None
        self._unlock: Any = None
        self._warm: Any = None  # None, the warm-up in progress, or True
        self._answered = 0.0  # when Redis last answered a call (monotonic)

    async def _warm_up(self, client: Any) -> None:
        """Open a few connections once, before the first call is timed: connecting costs more than a
        command, and a cold pool under a burst would spend the budget on handshakes."""
        if self._warm is None:

            async def warm() -> None:
                try:
                    if self.store.cluster:  # learn the slots once, before concurrent calls race to
                        await asyncio.wait_for(client.initialize(), _WARM_BUDGET)
                    else:
                        pings = asyncio.gather(*(client.ping() for _ in range(_WARM_CONNECTIONS)))
                        await asyncio.wait_for(pings, _WARM_BUDGET)
                except Exception as e:  # noqa: BLE001 - the calls themselves will find out and report
                    log.debug("Redis warm-up: %s", e)
                self._warm = True

            self._warm = asyncio.ensure_future(warm())
        if self._warm is not True:
            await asyncio.shield(self._warm)

    def _redis(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            store = self.store
            # Connect and socket timeouts at the budget too: the budget is the bound, these are the backstop.
            options = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0}
            if store.cluster:
                from redis.asyncio.cluster import RedisCluster

                self._client = RedisCluster.from_url(store._plain_url, **options)
            else:
                import redis.asyncio

                # A few connections, shared: under many concurrent requests a command waits its turn
                # for one (within the budget) instead of opening a connection per request.
                pool = redis.asyncio.BlockingConnectionPool.from_url(
                    store._plain_url, max_connections=_POOL_SIZE, timeout=None, **options
                )
                self._client = redis.asyncio.Redis(connection_pool=pool)
            from .redis import _UNLOCK

            self._unlock = self._client.register_script(_UNLOCK)
            self._loop = loop
            self._warm = None
            store.background_flush = True  # counters now go from this loop, never from a request
            self._flusher = loop.create_task(self._flush_forever())
        return self._client

    async def call(self, fn: Callable[[Any], Awaitable[_T]], doing: str, budget: float | None = None) -> _T:
        """Run ``fn(client)`` within the budget; raise CacheError (and count a failure) otherwise."""
        store = self.store
        if not self.breaker.allow():
            raise store.refused()
        client = self._redis()
        if self._warm is not True:
            await self._warm_up(client)
        limit = budget or self.budget
        started = time.monotonic()
        try:
            result = await _within(limit, fn(client))
        except _Late:
            if self._answered > started:
                # Redis answered other calls meanwhile: it is alive, this process is just busy. The
                # request goes on without the cache, but the breaker is not pushed towards open.
                raise CacheError(
                    f"Redis at {store.url} was slower than the {limit * 1000:.0f} ms budget"
                ) from None
            raise store.down(TimeoutError(f"no answer within {limit * 1000:.0f} ms")) from None
        except self._errors as e:
            raise store.down(e) from None
        except self._redis_error as e:
            self.breaker.success()  # it answered, with an error
            raise CacheError(f"Redis at {store.url} failed while {doing}: {e}") from None
        except CacheError:
            raise
        except Exception as e:  # noqa: BLE001 - a client fault (a half-closed connection) is a store fault too
            raise store.down(e) from None
        self._answered = time.monotonic()
        self.breaker.success()
        return result

    # -- entries ---------------------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        name = self.store.entry_name(key)
        return await self.call(lambda r: r.get(name), "reading an entry")  # type: ignore[no-any-return]

    async def put(self, key: str, value: bytes, ttl: float | None = None) -> None:
        store = self.store
        check_key(key)
        value = as_bytes(value)
        now = store._clock()
        expires = expiry(now, ttl if ttl is not None else store.ttl)

        async def write(r: Any) -> None:
            pipe = r.pipeline(transaction=not store.cluster)
            if expires is None:
                pipe.set(store.entry_name(key), value)
            else:
                pipe.set(store.entry_name(key), value, px=max(1, int((expires - now) * 1000)))
            pipe.zadd(store._created, {key: now})
            await pipe.execute()

        await self.call(write, "writing an entry")

    def incr(self, deltas: dict[str, float]) -> None:
        """Batch counter deltas in memory (no I/O): the flusher task sends them."""
        self.store.incr(deltas)

    # -- cross-replica single-flight -------------------------------------------------------------

    async def lock(self, key: str, ttl: float) -> str | None:
        token = uuid.uuid4().hex
        name = self.store.lock_name(key)
        px = max(1, int(ttl * 1000))
        ok = await self.call(lambda r: r.set(name, token, nx=True, px=px), "taking a lock")
        return token if ok else None

    async def locked(self, key: str) -> bool:
        name = self.store.lock_name(key)
        return bool(await self.call(lambda r: r.exists(name), "checking a lock"))

    async def unlock(self, key: str, token: str) -> None:
        name = self.store.lock_name(key)
        await self.call(lambda r: self._unlock(keys=[name], args=[token], client=r), "releasing a lock")

    # -- counters --------------------------------------------------------------------------------

    async def flush(self) -> None:
        store = self.store
        pending = store.take_pending()
        if not pending:
            return

        async def write(r: Any) -> None:
            pipe = r.pipeline(transaction=False)
            for name, delta in pending.items():
                pipe.hincrbyfloat(store._counters_key, name, delta)
            await pipe.execute()

        try:
            await self.call(write, "saving counters", _FLUSH_BUDGET)
        except CacheError:
            store.restore_pending(pending)  # for the next attempt
            raise

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(_FLUSH_SECONDS)
            try:
                await self.flush()
            except CacheError as e:
                log.debug("counters not sent: %s", e)
            except Exception as e:  # noqa: BLE001 - the flusher must outlive any one failure
                log.debug("counters not sent: %s", e)

    async def aclose(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
        try:
            await self.flush()
        except CacheError:
            pass
        self.store.background_flush = False
        if self._client is not None:
            await self._client.aclose()


class _Late(Exception):
    """A call ran past its budget."""


async def _within(limit: float, work: Awaitable[_T]) -> _T:
    """Await ``work`` in this task, cancelling it if it runs past ``limit`` seconds (raising _Late).

    The deadline does not cancel at once: it queues the cancellation behind whatever the loop has
    already scheduled. On a busy loop a reply and the deadline often come due in the same iteration;
    the reply's wake-up is queued first, so an answer that has arrived is used, never thrown away.
    Cheaper than a task per call and ``asyncio.wait``.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    expired = False
    handle: asyncio.Handle

    def fire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    def due() -> None:
        nonlocal handle
        handle = loop.call_soon(fire)

    handle = loop.call_later(limit, due)
    try:
        return await work
    except asyncio.CancelledError:
        if not expired:
            raise
        uncancel = getattr(task, "uncancel", None)  # Python 3.11+: was it also cancelled from outside?
        if uncancel is not None and uncancel() > 0:
            raise
        raise _Late() from None
    finally:
        handle.cancel()
