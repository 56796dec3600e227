"""Live fan-out across replicas: a follower on replica B streams the answer replica A is still
receiving, from its first chunk, before A's stream ends; one upstream call; committed once, by A.
If the leader dies mid-answer, the follower fails cleanly and nothing is committed."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from tests.servers.gateway_proc import start_gateway, wait_until


@pytest.fixture(params=["single", "cluster"])
def replicas(request, tmp_path, redis_server, scripted_upstream):
    server = redis_server if request.param == "single" else request.getfixturevalue("redis_cluster")
    server.flush()
    args = ("--cache", server.url + "?budget_ms=2000", "--upstream", scripted_upstream.base_url)
    config = "[openai]\nmax_retries = 0\ntimeout = 10\n"  # a dead leader's lock goes after 10 s
    a = start_gateway(tmp_path / "a", *args, env={"OPENAI_API_KEY": "k"}, config=config)
    b = start_gateway(tmp_path / "b", *args, env={"OPENAI_API_KEY": "k"}, config=config)
    yield a, b
    a.stop()
    b.stop()


def stream(gateway, text: str, events: list, name: str, out: dict) -> None:
    body = {"model": "drip", "messages": [{"role": "user", "content": text}], "stream": True}
    try:
        _stream(gateway, body, events, name, out)
    except httpx.HTTPError as e:  # the leader's replica killed under its own client
        out["broken"] = str(e)


def _stream(gateway, body: dict, events: list, name: str, out: dict) -> None:
    with httpx.stream("POST", gateway.chat_url, json=body, timeout=60) as r:
        out["state"] = r.headers.get("x-prosa-cache")
        out["text"], out["error"] = "", None
        for line in r.iter_lines():
            if not line.startswith("data: {"):
                continue
            data = json.loads(line[6:])
            if "error" in data:
                out["error"] = data["error"]["message"]
                continue
            if data["choices"]:
                events.append(name)
                out["text"] += data["choices"][0]["delta"].get("content") or ""


def test_a_follower_on_another_replica_streams_live(replicas, scripted_upstream):
    a, b = replicas
    before = scripted_upstream.count()
    events: list[str] = []
    out_a: dict = {}
    out_b: dict = {}
    leader = threading.Thread(target=stream, args=(a, "live fan-out", events, "A", out_a))
    leader.start()
    wait_until(lambda: events.count("A") >= 3, 30, "the leader's first chunks")
    follower = threading.Thread(target=stream, args=(b, "live fan-out", events, "B", out_b))
    follower.start()
    leader.join(60)
    follower.join(60)
    assert out_a["error"] is None and out_b["error"] is None
    assert out_b["text"] == out_a["text"] and out_a["text"].split() == [f"w{i}" for i in range(20)]
    # B's first chunk came while A's stream was still going (A's last chunk is after it).
    assert events.index("B") < len(events) - 1 - events[::-1].index("A")
    assert scripted_upstream.count() - before == 1
    hit = httpx.post(
        b.chat_url, json={"model": "drip", "messages": [{"role": "user", "content": "live fan-out"}]}
    )
    assert hit.headers["x-prosa-cache"] == "hit"


def test_leader_death_mid_answer_fails_the_follower_cleanly_and_commits_nothing(replicas, scripted_upstream):
    a, b = replicas
    events: list[str] = []
    out_a: dict = {}
    out_b: dict = {}
    leader = threading.Thread(target=stream, args=(a, "doomed leader", events, "A", out_a))
    leader.start()
    wait_until(lambda: events.count("A") >= 3, 30, "the leader's first chunks")
    follower = threading.Thread(target=stream, args=(b, "doomed leader", events, "B", out_b))
    follower.start()
    wait_until(lambda: events.count("B") >= 1, 30, "the follower's first chunk")
    a.proc.kill()  # the leader's replica dies mid-answer: its lock stays until it expires
    a.proc.wait(10)
    follower.join(90)
    leader.join(10)
    assert out_b.get("error") and "retry" in out_b["error"]
    assert out_b["text"] and out_b["text"] != "".join(f" w{i}" for i in range(20))
    body = {"model": "drip", "messages": [{"role": "user", "content": "doomed leader"}]}
    assert (
        httpx.post(b.chat_url, json=body, timeout=60).headers["x-prosa-cache"] == "miss"
    )  # nothing committed
