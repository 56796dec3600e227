"""Two `prosa serve` replicas sharing one real redis-server: one cache, one upstream call per herd."""

from __future__ import annotations

import concurrent.futures
import time

import httpx
import openai
import pytest

from tests.servers.gateway_proc import start_gateway


@pytest.fixture(params=["single", "cluster"])
def shared(request, tmp_path, redis_server, scripted_upstream):
    """Two replicas on one Redis server, then on a 3-master Redis Cluster (named by one node's URL)."""
    if request.param == "single":
        yield from _replicas(tmp_path, redis_server, scripted_upstream)
    else:
        cluster = request.getfixturevalue("redis_cluster")
        yield from _replicas(tmp_path, cluster, scripted_upstream)


@pytest.fixture
def replicas(tmp_path, redis_server, scripted_upstream):
    yield from _replicas(tmp_path, redis_server, scripted_upstream)


def _replicas(tmp_path, redis_server, scripted_upstream):
    redis_server.flush()
    # A cluster: replica A names it redis+cluster://, replica B the plain URL of another node (detected).
    nodes = getattr(redis_server, "nodes", None)
    urls = (redis_server.url, nodes[1].url if nodes else redis_server.url)
    # A generous Redis budget: these tests count upstream calls exactly, and on a loaded test machine a
    # process can stall longer than the 50 ms default (the store would then be bypassed, correctly).
    config = "[openai]\nmax_retries = 0\n"
    gateways = []
    for name, url in zip("ab", urls, strict=True):
        args = ("--cache", url + "?budget_ms=2000", "--upstream", scripted_upstream.base_url)
        gateways.append(start_gateway(tmp_path / name, *args, env={"OPENAI_API_KEY": "k"}, config=config))
    yield tuple(gateways)
    for gateway in gateways:
        gateway.stop()


def ask(gateway, text: str, model: str = "ok", stream: bool = False) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": text}], "stream": stream}
    return httpx.post(gateway.chat_url, json=body, timeout=30)


def test_a_miss_on_one_replica_is_a_hit_on_the_other_streams_included(shared, scripted_upstream):
    a, b = shared
    before = scripted_upstream.count()
    first = ask(a, "shared whole")
    second = ask(b, "shared whole")
    assert first.headers["x-prosa-cache"] == "miss" and second.headers["x-prosa-cache"] == "hit"
    assert (
        first.json()["choices"][0]["message"]["content"] == second.json()["choices"][0]["message"]["content"]
    )

    sdk_a = openai.OpenAI(base_url=a.base_url, api_key="x")
    sdk_b = openai.OpenAI(base_url=b.base_url, api_key="x")
    live = [c.choices[0].delta.content for c in sdk_a.chat.completions.create(
        model="drip", messages=[{"role": "user", "content": "shared stream"}], stream=True) if c.choices]  # fmt: skip
    replay = sdk_b.chat.completions.with_raw_response.create(
        model="drip", messages=[{"role": "user", "content": "shared stream"}], stream=True
    )
    assert replay.headers["x-prosa-cache"] == "hit"
    replayed = [c.choices[0].delta.content for c in replay.parse() if c.choices]
    assert replayed == live and len(live) >= 20
    assert scripted_upstream.count() - before == 2


def test_a_herd_over_both_replicas_makes_one_upstream_call(shared, scripted_upstream):
    a, b = shared
    before = scripted_upstream.count()
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda i: ask(a if i % 2 else b, "thundering herd", model="drip"), range(20)))
    assert all(r.status_code == 200 for r in answers)
    assert len({r.json()["choices"][0]["message"]["content"] for r in answers}) == 1
    assert scripted_upstream.count() - before == 1


def test_redis_killed_and_restarted_no_failed_requests(replicas, redis_server, scripted_upstream):
    a, b = replicas
    assert ask(a, "before the outage").status_code == 200
    assert ask(b, "before the outage").headers["x-prosa-cache"] == "hit"
    redis_server.stop()
    try:
        for i in range(6):
            r = ask(a if i % 2 else b, f"during the outage {i}")
            assert r.status_code == 200, r.text
            assert r.headers["x-prosa-cache"] in ("miss", "bypass")
        assert a.metric("prosa_cache_store_errors_total") + b.metric("prosa_cache_store_errors_total") >= 1
        assert "cannot reach Redis" in a.log() + b.log()
    finally:
        redis_server.start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:  # caching resumes by itself
        ask(a, "after the outage")
        if ask(b, "after the outage").headers["x-prosa-cache"] == "hit":
            break
        time.sleep(0.3)
    else:
        pytest.fail("caching did not resume after Redis came back")
