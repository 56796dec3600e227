"""A circuit breaker for a shared dependency (Redis): after a few failures in a row, stop asking it
for a while; then let one request through to see whether it is back.

States: closed (every call goes through), open (no call goes through until ``reset`` seconds have
passed), half-open (one probe goes through; its success closes the breaker, its failure opens it
again). Cheap enough for the hot path: a hit asks ``allow()`` and reports ``success()``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Breaker"]


class Breaker:
    """Opens after ``failures`` failures in a row; half-opens ``reset`` seconds later."""

    def __init__(
        self, failures: int = 3, reset: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if failures < 1 or not reset > 0:
            raise ValueError("a breaker needs failures >= 1 and reset > 0")
        self.failures = failures
        self.reset = reset
        self._clock = clock
        self._count = 0  # failures in a row
        self._open_until = 0.0  # 0: closed
        self._probing = False
        self._lock = threading.Lock()
        self.opened = 0  # times it opened (for /metrics and tests)

    @property
    def state(self) -> str:
        if not self._open_until:
            return "closed"
        return "half-open" if self._clock() >= self._open_until else "open"

    def allow(self) -> bool:
        """May a call go through now? In half-open state only one caller (the probe) is let through."""
        if not self._open_until:
            return True
        with self._lock:
            if not self._open_until:
                return True
            if self._clock() < self._open_until or self._probing:
                return False
            self._probing = True
            return True

    def success(self) -> None:
        if self._count or self._open_until:
            with self._lock:
                self._count = 0
                self._open_until = 0.0
                self._probing = False

    def failure(self) -> None:
        with self._lock:
            self._count += 1
            if self._probing or self._count >= self.failures:
                if not self._open_until or self._probing:
                    self.opened += 1
                self._open_until = self._clock() + self.reset
                self._probing = False
