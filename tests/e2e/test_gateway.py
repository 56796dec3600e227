"""`prosa serve` with real clients: the openai SDK (sync, async, stream, whole) and LangChain's ChatOpenAI,
against a real gateway subprocess in front of llama.cpp's real OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from tests.servers.gateway_proc import Gateway, answer_text, start_gateway, wait_until
from tests.support import UPSTREAM_KEY


@pytest.fixture(scope="module")
def gw(llama_upstream, tmp_path_factory) -> Gateway:
    """The gateway in front of llama.cpp's server, with its own upstream key and a SQLite cache."""
    home = tmp_path_factory.mktemp("gw-llama")
    gateway = start_gateway(home, "--upstream", llama_upstream.base_url, env={"OPENAI_API_KEY": UPSTREAM_KEY})
    yield gateway
    gateway.stop()


def question(text: str = "Name a fruit.") -> list[dict]:
    """A question no other test asks (the module's gateway shares one cache)."""
    return [{"role": "user", "content": f"{text} ({uuid.uuid4().hex[:8]})"}]


def sdk(gw: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key="not-needed", max_retries=0)


def test_sdk_sync_whole_second_identical_request_is_a_hit(gw, llama_upstream):
    client, messages = sdk(gw), question()
    before = llama_upstream.count()
    first = client.chat.completions.with_raw_response.create(model="smol", messages=messages, max_tokens=4, temperature=0)  # fmt: skip
    second = client.chat.completions.with_raw_response.create(model="smol", messages=messages, max_tokens=4, temperature=0)  # fmt: skip
    assert first.headers["x-prosa-cache"] == "miss" and second.headers["x-prosa-cache"] == "hit"
    assert llama_upstream.count() - before == 1
    a, b = first.parse(), second.parse()
    assert a.object == b.object == "chat.completion" and a.model == "smol"
    assert a.choices[0].message.content and a.choices[0].message.content == b.choices[0].message.content
    assert a.choices[0].finish_reason == b.choices[0].finish_reason in ("stop", "length")
    assert a.usage == b.usage  # (llama.cpp's server reports no usage in streams: zeros here)
    assert a.id != b.id  # each answer is its own completion


def test_sdk_sync_stream_replays_the_same_chunk_sequence(gw, llama_upstream):
    client, messages = sdk(gw), question("Name a color.")
    before = llama_upstream.count()
    runs = []
    for expected in ("miss", "hit"):
        raw = client.chat.completions.with_raw_response.create(
            model="smol", messages=messages, max_tokens=4, temperature=0, stream=True,
            stream_options={"include_usage": True},
        )  # fmt: skip
        assert raw.headers["x-prosa-cache"] == expected
        assert raw.headers["content-type"].startswith("text/event-stream")
        events = list(raw.parse())
        assert all(e.object == "chat.completion.chunk" for e in events)
        runs.append([(e.choices[0].delta.content if e.choices else None, e.choices[0].finish_reason if e.choices else None,
                      e.usage.total_tokens if e.usage else None) for e in events])  # fmt: skip
    assert llama_upstream.count() - before == 1
    miss, hit = runs
    assert miss == hit  # same count, same delta texts, same finish, same usage
    assert miss[0][:2] == (None, None)  # the role chunk, as llama.cpp sends it (role, no content)
    # One finish. llama.cpp's server sends no usage chunk even when asked: none is made up on replay.
    assert [f for _, f, _ in miss if f] in (["stop"], ["length"]) and miss[-1][1] is not None
    assert sum(1 for text, _, _ in miss if text) >= 2


def test_sdk_async_stream_then_whole_share_one_entry(gw, llama_upstream):
    messages = question("Name a planet.")

    async def main() -> tuple[str, str]:
        client = openai.AsyncOpenAI(base_url=gw.base_url, api_key="x", max_retries=0)
        stream = await client.chat.completions.create(model="smol", messages=messages, max_tokens=4, temperature=0, stream=True)  # fmt: skip
        streamed = "".join([e.choices[0].delta.content or "" async for e in stream if e.choices])
        raw = await client.chat.completions.with_raw_response.create(model="smol", messages=messages, max_tokens=4, temperature=0)  # fmt: skip
        assert raw.headers["x-prosa-cache"] == "hit"
        whole = raw.parse().choices[0].message.content
        await client.close()
        return streamed, whole

    before = llama_upstream.count()
    streamed, whole = asyncio.run(main())
    assert streamed and streamed == whole
    assert llama_upstream.count() - before == 1


def test_local_model_through_the_gateway(gw):
    client, messages = sdk(gw), question("Say hello.")
    whole = client.chat.completions.with_raw_response.create(model="local", messages=messages, max_tokens=6, temperature=0)  # fmt: skip
    assert whole.headers["x-prosa-cache"] == "miss"
    raw = client.chat.completions.with_raw_response.create(model="local", messages=messages, max_tokens=6, temperature=0, stream=True)  # fmt: skip
    assert raw.headers["x-prosa-cache"] == "hit"
    streamed = "".join(e.choices[0].delta.content or "" for e in raw.parse())
    assert streamed and streamed == whole.parse().choices[0].message.content


def test_langchain_invoke_and_stream_second_call_is_a_hit(gw, llama_upstream):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(
        model="smol", base_url=gw.base_url, api_key="x", max_tokens=4, temperature=0, max_retries=0
    )
    q = question("Name an animal.")[0]["content"]
    before = llama_upstream.count()
    hits = gw.metric('prosa_gateway_cache_total{result="hit"}')
    a, b = llm.invoke(q), llm.invoke(q)
    assert a.content and a.content == b.content
    # LangChain's own cache never serves .stream(); the gateway does, chunk for chunk, from the same entry.
    first = [c.content for c in llm.stream(q)]
    second = [c.content for c in llm.stream(q)]
    assert "".join(first) == a.content and first == second and len([c for c in first if c]) >= 2
    assert llama_upstream.count() - before == 1
    assert gw.metric('prosa_gateway_cache_total{result="hit"}') - hits == 3


def test_concurrent_identical_requests_make_one_upstream_call(gw, llama_upstream):
    messages = question("Name a river.")
    body = {"model": "smol", "messages": messages, "max_tokens": 4, "temperature": 0}

    def ask(i: int) -> tuple[str, str]:
        stream = i % 2 == 0
        r = httpx.post(gw.chat_url, json={**body, "stream": stream}, timeout=60)
        assert r.status_code == 200, r.text
        text = answer_text(r)
        return r.headers["x-prosa-cache"], text

    before = llama_upstream.count()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(ask, range(8)))
    assert llama_upstream.count() - before == 1  # single-flight, or a hit for late arrivals
    assert len({text for _, text in results}) == 1 and results[0][1]


def test_models_health_metrics_and_stats(gw):
    models = httpx.get(f"{gw.base_url}/models", timeout=30).json()
    assert models["object"] == "list"
    ids = [m["id"] for m in models["data"]]
    assert ids[0] == "local" and "smol" in ids
    assert httpx.get(f"{gw.url}/healthz").json()["status"] == "ok"
    text = httpx.get(f"{gw.url}/metrics").text
    assert "# TYPE prosa_gateway_requests_total counter" in text
    assert 'prosa_gateway_requests_total{status="200"}' in text
    assert "prosa_gateway_upstream_first_chunk_seconds_bucket" in text and "prosa_cache_entries" in text
    stats = httpx.get(f"{gw.url}/prosa/stats").json()
    assert stats["cache"]["hits"] >= 1 and stats["cache"]["entries"] >= 1
    assert stats["series"] and set(stats["series"][-1]) >= {
        "t",
        "hits",
        "misses",
        "tokens_saved",
        "usd_saved",
    }
    assert json.loads(json.dumps(stats)) == stats


def test_local_model_stream_cut_by_the_client_is_not_cached(gw):
    entries = httpx.get(f"{gw.url}/prosa/stats").json()["cache"]["entries"]
    cancelled = gw.metric("prosa_gateway_streams_cancelled_total")
    body = {"model": "local", "messages": question("Tell a long story."), "max_tokens": 200, "stream": True}
    with httpx.stream("POST", gw.chat_url, json=body, timeout=60) as r:
        assert r.headers["x-prosa-cache"] == "miss"
        seen = 0
        for line in r.iter_lines():
            seen += '"content":' in line
            if seen == 4:
                break  # disconnect: the gateway leaves the flight and the local model stops generating
    wait_until(
        lambda: gw.metric("prosa_gateway_streams_cancelled_total") > cancelled, what="stream cancelled"
    )
    assert httpx.get(f"{gw.url}/prosa/stats").json()["cache"]["entries"] == entries
