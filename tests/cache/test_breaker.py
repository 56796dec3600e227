"""The circuit breaker's states, on a fake clock; and the budget helper's two kinds of cancellation."""

from __future__ import annotations

import asyncio

import pytest

from prosa.cache.breaker import Breaker
from prosa.cache.stores.redis_async import _Late, _within


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_failures_in_a_row_then_half_opens_for_one_probe():
    clock = Clock()
    breaker = Breaker(failures=3, reset=1.0, clock=clock)
    breaker.failure()
    breaker.failure()
    breaker.success()  # a success resets the count: failures must be in a row
    breaker.failure()
    breaker.failure()
    assert breaker.allow() and breaker.state == "closed"
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow() and breaker.opened == 1
    clock.now += 1.0
    assert breaker.state == "half-open"
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # only one
    breaker.failure()  # the probe failed: open again, for another second
    assert breaker.state == "open" and not breaker.allow() and breaker.opened == 2
    clock.now += 1.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow() and breaker.allow()


def test_within_bounds_a_call_and_lets_an_outside_cancellation_through():
    async def run() -> None:
        assert await _within(1.0, asyncio.sleep(0, "quick")) == "quick"
        with pytest.raises(_Late):
            await _within(0.01, asyncio.sleep(5))
        outer = asyncio.ensure_future(_within(5.0, asyncio.sleep(5)))
        await asyncio.sleep(0.01)
        outer.cancel()  # a client that went away: not a timeout
        with pytest.raises(asyncio.CancelledError):
            await outer

    asyncio.run(run())
