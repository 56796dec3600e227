"""Semantic hits across replicas: the question vectors live in the shared Redis (one server, then a
3-master cluster), so replica B gets a semantic hit on what replica A answered; an entry evicted from
Redis loses its vector."""

from __future__ import annotations

import httpx
import pytest
import redis
from redis.cluster import RedisCluster as ClusterClient

from tests.servers.gateway_proc import start_gateway

CONFIG = "[openai]\nmax_retries = 0\n[cache]\nsemantic = true\n"


@pytest.fixture(params=["single", "cluster"])
def backend(request, redis_server):
    if request.param == "single":
        redis_server.flush()
        return redis_server, redis.Redis.from_url(redis_server.url)
    cluster = request.getfixturevalue("redis_cluster")
    cluster.flush()
    return cluster, ClusterClient.from_url(cluster.node_url)


def ask(gateway, text: str) -> httpx.Response:
    body = {"model": "ok", "messages": [{"role": "user", "content": text}]}
    return httpx.post(gateway.chat_url, json=body, timeout=60)


def test_semantic_hit_across_replicas_and_eviction_drops_the_vector(tmp_path, backend, scripted_upstream):
    server, raw = backend
    args = ("--cache", server.url + "?budget_ms=2000", "--upstream", scripted_upstream.base_url)
    a = start_gateway(tmp_path / "a", *args, env={"OPENAI_API_KEY": "k"}, config=CONFIG)
    b = start_gateway(tmp_path / "b", *args, env={"OPENAI_API_KEY": "k"}, config=CONFIG)
    try:
        assert ask(a, "What is the capital of France?").headers["x-prosa-cache"] == "miss"
        para = ask(b, "Which city is the capital of France?")
        assert para.headers["x-prosa-cache"] == "semantic-hit", para.headers
        assert 0.5 < float(para.headers["x-prosa-similarity"]) <= 1.0

        vectors = [name for name in raw.scan_iter(match="prosa:v:*")]
        assert len(vectors) == 1 and raw.hlen(vectors[0]) == 1
        (entry,) = list(raw.scan_iter(match="prosa:e:*"))
        raw.delete(entry)  # as Redis's eviction (maxmemory) or expiry would
        again = ask(b, "Which city is the capital of France, please?")
        assert again.headers["x-prosa-cache"] == "miss"
        assert raw.hlen(vectors[0]) == 1  # the old vector went, the new answer's came
        assert raw.hkeys(vectors[0])[0].decode() != entry.decode().split("{")[1].rstrip("}")
    finally:
        a.stop()
        b.stop()
