"""Shared fixtures: an isolated prosa home per test, and real servers on free loopback ports."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import UPSTREAM_KEY, RedisCluster, RedisServer, Server, start_module

# A runner started in the background by a shell without job control ignores SIGINT, and every process
# it starts inherits the ignore: the tests that type Ctrl-C at prosa would see it do nothing. A handler,
# unlike an ignore, is reset to the default in each child at exec.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def llama_upstream() -> Iterator[Server]:
    """llama-cpp-python's real OpenAI-compatible server, with the bundled model, requiring UPSTREAM_KEY."""
    server = start_module("tests.servers.llama_upstream", UPSTREAM_KEY)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def scripted_upstream() -> Iterator[Server]:
    server = start_module("tests.servers.scripted_upstream")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on a free port, no persistence. Missing redis-server is a failure, not a skip."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """A real 3-master Redis Cluster on loopback. Missing redis-server/redis-cli is a failure."""
    cluster = RedisCluster(tmp_path_factory.mktemp("cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(autouse=True)
def prosa_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config and cache dirs, and no ambient OpenAI settings."""
    home = tmp_path / "prosa-home"
    monkeypatch.setenv("PROSA_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("PROSA_CACHE_DIR", str(home / "cache"))
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "PROSA_CACHE",
        "PROSA_MODEL",
        "PROSA_LOCAL_MODEL",
        "PROSA_LOG",
    ):
        monkeypatch.delenv(name, raising=False)
    return home


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # In CI a skipped test is a missing component, and that is a failure, not a pass.
    import os

    if os.environ.get("CI") and _skipped and exitstatus == 0:
        print(f"\nCI: {len(_skipped)} test(s) skipped; a required component is missing: {_skipped[:5]}")
        session.exitstatus = 1
