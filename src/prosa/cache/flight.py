"""A Flight is one upstream answer in progress, shared by every reader that asked the same question.

A pump (a thread for sync callers, a task for async ones) drives the provider's stream and publishes
each chunk; readers follow the published chunks from the first, so a reader that joins late still
sees the whole sequence. The answer is committed (``on_complete``) only when the stream ends with a
finish reason. When every reader has gone (stopped early, Ctrl-C, client disconnected) the pump is
cancelled and nothing is committed.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

    from .async_cache import Plan

from ..errors import StreamInterrupted
from ..reply import Chunk

_registry: dict[tuple[str, str], Flight] = {}
_registry_lock = threading.Lock()


class Cancelled(Exception):
    """The flight was abandoned by all its readers."""


class Flight:
    def __init__(
        self,
        on_complete: Callable[[list[Chunk]], None] | None = None,
        registry_key: tuple[str, str] | None = None,
        coordinate: Callable[[], tuple[Any, Callable[[], None] | None]] | None = None,
        *,
        acommit: Callable[[list[Chunk]], Awaitable[None]] | None = None,
        acoordinate: Callable[[], Awaitable[Plan]] | None = None,
    ) -> None:
        self.chunks: list[Chunk] = []
        self.done = False
        self.error: BaseException | None = None
        self.readers = 0
        self.cancelled = threading.Event()
        self._on_complete = on_complete
        self._registry_key = registry_key
        # Cross-process single-flight (see ResponseCache.coordinate): run by the pump before the model.
        self._coordinate = coordinate
        # Their async twins, used by the task pump (the gateway, AsyncClient): no store call on the loop.
        self._acommit = acommit
        self._acoordinate = acoordinate
        self.remote = False  # True when another process's answer was replayed instead
        self._cond = threading.Condition()
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._task: tuple[asyncio.AbstractEventLoop, asyncio.Task[None]] | None = None

    # -- pump side ---------------------------------------------------------------------------------
    def publish(self, chunk: Chunk) -> None:
        with self._cond:
            self.chunks.append(chunk)
            self._wake()

    def finish(self) -> None:
        """The provider's stream ended: commit it if it is complete, else it is an interruption."""
        if not self.complete():
            return
        if self._on_complete is not None and not self.cancelled.is_set():
            self._on_complete(self.chunks)
        self._done()

    async def afinish(self) -> None:
        """``finish`` for the task pump: the commit goes through the store's async side."""
        if not self.complete():
            return
        if self._acommit is not None and self._on_complete is not None and not self.cancelled.is_set():
            await self._acommit(self.chunks)
        elif self._on_complete is not None and not self.cancelled.is_set():
            import asyncio

            await asyncio.to_thread(self._on_complete, self.chunks)  # blocking: off the event loop
        self._done()

    def complete(self) -> bool:
        """True when a chunk finished the answer (the usage chunk may come after it); else fail."""
        if any(c.finish_reason is not None for c in reversed(self.chunks)):
            return True
        self.fail(StreamInterrupted("the stream ended before the model finished its answer; retry"))
        return False

    def _done(self) -> None:
        self._unregister()  # before taking _cond: shared_flight takes the locks in the other order
        with self._cond:
            self.done = True
            self._wake()

    def fail(self, error: BaseException) -> None:
        self._unregister()
        with self._cond:
            self.error = error
            self.done = True
            self._wake()

    def _wake(self) -> None:
        self._cond.notify_all()
        waiters, self._async_waiters = self._async_waiters, []
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that reader's loop has closed
                pass

    def _unregister(self) -> None:
        if self._registry_key is not None:
            with _registry_lock:
                if _registry.get(self._registry_key) is self:
                    del _registry[self._registry_key]

    # -- reader side -------------------------------------------------------------------------------
    def join(self) -> None:
        with self._cond:
            self.readers += 1

    def leave(self) -> None:
        with self._cond:
            self.readers -= 1
            abandon = self.readers <= 0 and not self.done
        if abandon:
            self.cancel()

    def cancel(self) -> None:
        self.cancelled.set()
        self._unregister()
        if self._task is not None:
            loop, task = self._task
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:
                pass

    def follow(self) -> Iterator[Chunk]:
        """Every chunk from the first, blocking until each arrives. Raises the pump's error, if any."""
        i = 0
        while True:
            with self._cond:
                while i >= len(self.chunks) and not self.done:
                    self._cond.wait(0.5)
                if i < len(self.chunks):
                    chunk = self.chunks[i]
                elif self.error is not None:
                    raise self.error
                else:
                    return
            i += 1
            yield chunk

    async def afollow(self) -> AsyncIterator[Chunk]:
        import asyncio  # here, not at the top: sync callers and cache hits never pay for asyncio

        loop = asyncio.get_running_loop()
        i = 0
        while True:
            event = None
            with self._cond:
                if i < len(self.chunks):
                    chunk = self.chunks[i]
                elif self.done:
                    if self.error is not None:
                        raise self.error
                    return
                else:
                    event = asyncio.Event()
                    self._async_waiters.append((loop, event))
            if event is not None:
                await event.wait()
                continue
            i += 1
            yield chunk

    # -- pumps -------------------------------------------------------------------------------------
    def start_thread(self, stream: Callable[[], Iterator[Chunk]]) -> None:
        threading.Thread(target=self._pump, args=(stream,), name="prosa-flight", daemon=True).start()

    def _claim(self, entry: Any) -> bool:
        """Publish another process's finished answer; True when there was one (then the model is not asked)."""
        if entry is None:
            return False
        self.remote = True
        self._on_complete = None  # it is already stored
        for chunk in entry.chunks():
            self.publish(chunk)
        self.finish()
        return True

    def _pump(self, stream: Callable[[], Iterator[Chunk]]) -> None:
        iterator: Any = None
        release = None
        try:
            if self._coordinate is not None:
                entry, release = self._coordinate()
                if self._claim(entry):
                    return
            iterator = stream()
            for chunk in iterator:
                if self.cancelled.is_set():
                    raise Cancelled()
                self.publish(chunk)
            self.finish()
        except BaseException as e:  # noqa: BLE001 - every failure is handed to the readers
            self.fail(e)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
            if release is not None:
                release()  # after the answer is saved, so waiting processes find it

    async def _follow_remote(self, remote: AsyncIterator[Chunk]) -> bool:
        """Follow another replica's answer live; False when its leader went before the first chunk
        (then this flight asks the model itself). The leader saves the answer, not this flight."""
        from .fanout import LeaderGone

        on_complete, acommit = self._on_complete, self._acommit
        self.remote = True
        self._on_complete = self._acommit = None
        try:
            async for chunk in remote:
                self.publish(chunk)
        except LeaderGone:
            self.remote = False
            self._on_complete, self._acommit = on_complete, acommit
            return False
        if self.complete():
            self._done()
        return True

    def start_task(self, stream: Callable[[], AsyncIterator[Chunk]]) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        self._task = (loop, loop.create_task(self._apump(stream)))

    async def _apump(self, stream: Callable[[], AsyncIterator[Chunk]]) -> None:
        import asyncio

        iterator: Any = None
        release: Any = None
        publisher: Any = None
        try:
            if self._acoordinate is not None:
                plan = await self._acoordinate()
                if self._claim(plan.entry):
                    return
                if plan.remote is not None and await self._follow_remote(plan.remote):
                    return
                release, publisher = plan.release, plan.publisher
            elif self._coordinate is not None:
                entry, sync_release = await asyncio.to_thread(self._coordinate)  # it polls: off the loop
                if self._claim(entry):
                    return
                if sync_release is not None:
                    release = functools.partial(asyncio.to_thread, sync_release)
            iterator = stream()
            async for chunk in iterator:
                self.publish(chunk)
                if publisher is not None:
                    await publisher.add(chunk)
                # Let the readers run now: when the next events are already buffered, the iterator
                # would otherwise decode them all before any reader sees the first chunk.
                await asyncio.sleep(0)
            await self.afinish()
        except asyncio.CancelledError:
            self.fail(Cancelled())
        except BaseException as e:  # noqa: BLE001
            self.fail(e)
        finally:
            close = getattr(iterator, "aclose", None)
            if close is not None:
                try:
                    await close()
                except BaseException:  # noqa: BLE001 - closing an abandoned stream must not raise
                    pass
            if publisher is not None:  # after the commit: followers that see "finished" find the entry
                await publisher.end(self.done and self.error is None)
            if release is not None:
                await release()


def shared_flight(
    registry_key: tuple[str, str], make: Callable[[tuple[str, str]], Flight]
) -> tuple[Flight, bool]:
    """The flight in progress for this key, or a new one from ``make``. Returns (flight, is_new).

    The caller joins before the registry lock is released, so a flight is never abandoned between
    being found and being followed.
    """
    with _registry_lock:
        flight = _registry.get(registry_key)
        if flight is not None and not flight.cancelled.is_set():
            flight.join()
            return flight, False
        flight = make(registry_key)
        flight.join()
        _registry[registry_key] = flight
        return flight, True
