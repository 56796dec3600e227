"""A hung, slow or killed Redis under load: no failed request, /healthz keeps answering, and the
cache comes back by itself. Real redis-server (SIGSTOP/SIGCONT, DEBUG SLEEP, kill), real gateway."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.servers.gateway_proc import Gateway, start_gateway, wait_until
from tests.support import RedisServer

CONFIG = "[openai]\nmax_retries = 0\n"


@pytest.fixture
def redis_alone() -> Iterator[RedisServer]:
    server = RedisServer()  # its own: these tests stop and kill it
    server.start()
    yield server
    if server.proc is not None:
        server.resume()
    server.stop()


@pytest.fixture
def gateway(tmp_path, redis_alone, scripted_upstream) -> Iterator[Gateway]:
    # The default budget (50 ms): what a deployment gets.
    args = ("--cache", redis_alone.url, "--upstream", scripted_upstream.base_url)
    gw = start_gateway(tmp_path / "gw", *args, env={"OPENAI_API_KEY": "k"}, config=CONFIG)
    yield gw
    gw.stop()


def ask(client: httpx.Client, gateway: Gateway, text: str) -> httpx.Response:
    body = {"model": "ok", "messages": [{"role": "user", "content": text}]}
    return client.post(gateway.chat_url, json=body)


class Load:
    """Threads asking a 90/10 mix of known and new questions until stopped; every answer is kept."""

    def __init__(self, gateway: Gateway, threads: int = 4) -> None:
        self.gateway = gateway
        self.statuses: list[int] = []
        self.health: list[int] = []
        self.states: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._ask, args=(i,)) for i in range(threads)]
        self._threads.append(threading.Thread(target=self._healthz))

    def _ask(self, worker: int) -> None:
        with httpx.Client(timeout=30) as client:
            i = 0
            while not self._stop.is_set() and i < 2000:  # bounded
                text = f"new {worker}-{i}" if i % 10 == 9 else f"known {i % 5}"
                try:
                    r = ask(client, self.gateway, text)
                    self.statuses.append(r.status_code)
                    self.states.append(r.headers.get("x-prosa-cache", ""))
                except httpx.HTTPError:
                    self.statuses.append(0)
                i += 1

    def _healthz(self) -> None:
        with httpx.Client(timeout=2) as client:  # a loop blocked on Redis (1 s socket timeout) fails this
            while not self._stop.is_set():
                try:
                    self.health.append(client.get(f"{self.gateway.url}/healthz").status_code)
                except httpx.HTTPError:
                    self.health.append(0)
                time.sleep(0.02)

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)

    def settle(self, n: int = 20) -> None:
        """Wait until ``n`` more answers have come back (the phase has really been exercised)."""
        target = len(self.statuses) + n
        wait_until(lambda: len(self.statuses) >= target, 60, f"{n} more answers")


def test_a_hung_redis_under_load_fails_no_request_and_healthz_answers(gateway, redis_alone):
    with httpx.Client(timeout=30) as client:
        for i in range(5):
            assert ask(client, gateway, f"known {i}").status_code == 200
    with Load(gateway) as load:
        load.settle()
        redis_alone.pause()  # SIGSTOP: connections still accepted, nothing answered
        try:
            load.settle(60)
            health_while_hung = len(load.health)
            load.settle(60)
            assert len(load.health) > health_while_hung  # /healthz answered while Redis was hung
        finally:
            redis_alone.resume()
        hits_before = load.states.count("hit")
        wait_until(lambda: load.states.count("hit") > hits_before + 10, 30, "hits after SIGCONT")
    assert load.statuses and set(load.statuses) == {200}, {
        s: load.statuses.count(s) for s in set(load.statuses)
    }
    assert load.health and set(load.health) == {200}
    assert "no answer within 50 ms" in gateway.log()  # the budget, not the 1 s socket timeout
    assert gateway.metric("prosa_cache_store_errors_total") >= 1


def test_redis_slow_then_killed_then_back_under_load(gateway, redis_alone):
    import redis

    with Load(gateway) as load:
        load.settle()
        slow = threading.Thread(
            target=lambda: redis.Redis.from_url(redis_alone.url).execute_command("DEBUG", "SLEEP", 1.5)
        )
        slow.start()  # a Redis busy for 1.5 s: every call meanwhile waits
        load.settle(40)
        slow.join(30)
        redis_alone.stop()  # killed: connections refused
        load.settle(40)
        redis_alone.start()  # same port: the breaker half-opens and the cache is used again
        hits_before = load.states.count("hit")
        wait_until(lambda: load.states.count("hit") > hits_before + 10, 30, "hits after the restart")
    assert load.statuses and set(load.statuses) == {200}, {
        s: load.statuses.count(s) for s in set(load.statuses)
    }
    assert load.health and set(load.health) == {200}
    assert "cannot reach Redis" in gateway.log()
