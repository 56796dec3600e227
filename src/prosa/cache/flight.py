"""A Flight is one upstream answer in progress, shared by every reader that asked the same question.

A pump (a thread for sync callers, a task for async ones) drives the provider's stream and publishes
each chunk; readers follow the published chunks from the first, so a reader that joins late still
sees the whole sequence. The answer is committed (``commit``) only when the stream ends with a
finish reason. When every reader has gone (stopped early, Ctrl-C, client disconnected) the pump is
cancelled and nothing is committed.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

from ..errors import StreamInterrupted
from ..reply import Chunk

_registry: dict[tuple[str, str], Flight] = {}
_WAIT, _END = object(), object()  # what a reader finds at its position besides a chunk (see Flight._at)
_registry_lock = threading.Lock()


class Cancelled(Exception):
    """The flight was abandoned by all its readers."""


class Flight:
    """One answer in progress. ``commit`` saves a complete answer and ``coordinate`` runs before the
    model is asked (cross-process single-flight, see ResponseCache.coordinate): blocking callables for
    a flight pumped by a thread, coroutine functions for one pumped by a task (see flight_hooks)."""

    def __init__(
        self,
        registry_key: tuple[str, str] | None = None,
        commit: Callable[[list[Chunk]], Any] | None = None,
        coordinate: Callable[[], Any] | None = None,
    ) -> None:
        self.chunks: list[Chunk] = []
        self.done = False
        self.error: BaseException | None = None
        self.readers = 0
        self.cancelled = threading.Event()
        self._registry_key = registry_key
        self._commit = commit
        self._coordinate = coordinate
        self._cond = threading.Condition()
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._task: tuple[asyncio.AbstractEventLoop, asyncio.Task[None]] | None = None

    # -- pump side ---------------------------------------------------------------------------------
    def publish(self, chunk: Chunk) -> None:
        with self._cond:
            self.chunks.append(chunk)
            self._wake()

    def _keep(self) -> bool:
        """A complete answer is to be saved: there is a commit hook, and its readers did not abandon it."""
        return self._commit is not None and not self.cancelled.is_set()

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

    def _at(self, i: int) -> Any:
        """Chunk ``i`` when it has arrived, else _END when the answer is over (raising the pump's error,
        if any), else _WAIT. Called under ``_cond``: the one step both readers take."""
        if i < len(self.chunks):
            return self.chunks[i]
        if not self.done:
            return _WAIT
        if self.error is not None:
            raise self.error
        return _END

    def follow(self) -> Iterator[Chunk]:
        """Every chunk from the first, blocking until each arrives. Raises the pump's error, if any."""
        i = 0
        while True:
            with self._cond:
                got = self._at(i)
                while got is _WAIT:
                    self._cond.wait(0.5)
                    got = self._at(i)
            if got is _END:
                return
            i += 1
            yield got

    async def afollow(self) -> AsyncIterator[Chunk]:
        """``follow`` for a reader on an event loop: it awaits each chunk instead of blocking."""
        import asyncio  # here, not at the top: sync callers and cache hits never pay for asyncio

        loop = asyncio.get_running_loop()
        i = 0
        while True:
            with self._cond:
                got = self._at(i)
                if got is _WAIT:
                    event = asyncio.Event()
                    self._async_waiters.append((loop, event))
            if got is _WAIT:
                await event.wait()
            elif got is _END:
                return
            else:
                i += 1
                yield got

    # -- pumps: the thread and the task drivers of the same steps --------------------------------
    def _claim(self, entry: Any) -> bool:
        """Publish another process's finished answer; True when there was one (then the model is not asked)."""
        if entry is None:
            return False
        self._commit = None  # it is already stored
        for chunk in entry.chunks():
            self.publish(chunk)
        if self.complete():
            self._done()
        return True

    def start_thread(self, stream: Callable[[], Iterator[Chunk]]) -> None:
        threading.Thread(target=self._pump, args=(stream,), name="prosa-flight", daemon=True).start()

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
                if self.cancelled.is_set():  # a thread cannot be cancelled: it stops at the next chunk
                    raise Cancelled()
                self.publish(chunk)
            if self.complete():
                if self._keep():
                    self._commit(self.chunks)  # type: ignore[misc]
                self._done()
        except BaseException as e:  # noqa: BLE001 - every failure is handed to the readers
            self.fail(e)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
            if release is not None:
                release()  # after the answer is saved, so waiting processes find it

    def start_task(self, stream: Callable[[], AsyncIterator[Chunk]]) -> None:
        import asyncio  # here, not at the top: sync callers and cache hits never pay for asyncio

        loop = asyncio.get_running_loop()
        self._task = (loop, loop.create_task(self._apump(stream)))

    async def _apump(self, stream: Callable[[], AsyncIterator[Chunk]]) -> None:
        import asyncio

        iterator: Any = None
        release: Any = None
        publisher: Any = None
        try:
            if self._coordinate is not None:
                plan = await self._coordinate()
                if self._claim(plan.entry) or await self._follow_remote(plan.remote):
                    return
                release, publisher = plan.release, plan.publisher
            iterator = stream()
            async for chunk in iterator:
                self.publish(chunk)
                if publisher is not None:
                    await publisher.add(chunk)
                # Let the readers run now: when the next events are already buffered, the iterator
                # would otherwise decode them all before any reader sees the first chunk.
                await asyncio.sleep(0)
            if self.complete():
                if self._keep():
                    await self._commit(self.chunks)  # type: ignore[misc]
                self._done()
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

    async def _follow_remote(self, remote: AsyncIterator[Chunk] | None) -> bool:
        """Follow another replica's answer live; False when there is none, or its leader went before
        the first chunk (then this flight asks the model itself). The leader saves it, not this flight."""
        if remote is None:
            return False
        from .fanout import LeaderGone

        commit, self._commit = self._commit, None
        try:
            async for chunk in remote:
                self.publish(chunk)
        except LeaderGone:
            self._commit = commit
            return False
        if self.complete():
            self._done()
        return True


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
