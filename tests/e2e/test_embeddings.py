"""Cached embeddings through the gateway (openai SDK), the library, LangChain and the CLI.

The upstream path runs against the scripted upstream's deterministic vectors; the local path runs
the bundled MiniLM for real.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import numpy as np
import pytest

from prosa import AsyncClient, Client
from prosa.errors import InvalidRequest
from tests.servers.gateway_proc import over_scripted, sdk
from tests.support import run_prosa


@pytest.fixture(scope="module")
def gw(scripted_upstream, tmp_path_factory):
    gateway = over_scripted(tmp_path_factory.mktemp("gw-embed"), scripted_upstream)
    yield gateway
    gateway.stop()


def embeds(upstream) -> int:
    return int(upstream.counts().get("embeddings", 0))


def test_a_partly_cached_batch_sends_only_the_new_inputs_upstream(gw, scripted_upstream):
    client = sdk(gw)
    first = client.embeddings.with_raw_response.create(model="emb", input=["alpha", "beta"])
    assert first.headers["x-prosa-cache"] == "miss"
    before = embeds(scripted_upstream)
    raw = client.embeddings.with_raw_response.create(model="emb", input=["gamma", "alpha", "delta", "beta"])
    assert raw.headers["x-prosa-cache"] == "partial" and raw.headers["x-prosa-cached-inputs"] == "2"
    assert embeds(scripted_upstream) - before == 1
    assert scripted_upstream.last()["input"] == ["gamma", "delta"]  # only the inputs never seen
    whole = raw.parse()
    assert [d.index for d in whole.data] == [0, 1, 2, 3]
    assert whole.data[1].embedding == first.parse().data[0].embedding  # alpha, in input order
    assert whole.usage.prompt_tokens == 4 and whole.model == "emb-v1"
    again = client.embeddings.with_raw_response.create(model="emb", input=["delta", "gamma"])
    assert again.headers["x-prosa-cache"] == "hit" and embeds(scripted_upstream) - before == 1


def test_float_and_base64_agree_and_dimensions_are_keyed(gw, scripted_upstream):
    as_float = httpx.post(
        f"{gw.base_url}/embeddings", json={"model": "emb", "input": "zeta", "encoding_format": "float"}
    ).json()
    as_b64 = sdk(gw).embeddings.create(model="emb", input="zeta")  # the SDK asks for base64 and decodes it
    assert np.allclose(as_float["data"][0]["embedding"], as_b64.data[0].embedding)
    before = embeds(scripted_upstream)
    short = sdk(gw).embeddings.create(model="emb", input="zeta", dimensions=4)
    assert len(short.data[0].embedding) == 4 and embeds(scripted_upstream) - before == 1
    assert scripted_upstream.last()["dimensions"] == 4


def test_token_arrays_and_errors(gw):
    ok = httpx.post(f"{gw.base_url}/embeddings", json={"model": "emb", "input": [[1, 2, 3], [4, 5]]})
    assert ok.status_code == 200 and len(ok.json()["data"]) == 2
    for body, param in [({"model": "emb", "input": []}, "input"), ({"model": "emb", "input": [""]}, "input[0]"),
                        ({"model": "emb", "input": ["x"] * 16385}, "input"), ({"input": "x"}, "model"),
                        ({"model": "emb", "input": "x", "dimensions": 0}, "dimensions"),
                        ({"model": "local", "input": "x", "dimensions": 8}, "dimensions"),
                        ({"model": "local", "input": [[1, 2]]}, "input")]:  # fmt: skip
        r = httpx.post(f"{gw.base_url}/embeddings", json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]["param"] == param
    r = httpx.post(f"{gw.base_url}/embeddings", json={"model": "status-429", "input": "x"})
    assert r.status_code == 429 and "scripted failure" in r.json()["error"]["message"]


def test_local_embeddings_offline_through_the_gateway(gw):
    client = sdk(gw)
    first = client.embeddings.with_raw_response.create(model="local", input=["a cat", "a dog"])
    second = client.embeddings.with_raw_response.create(model="minilm", input=["a dog"])
    assert first.headers["x-prosa-cache"] == "miss" and second.headers["x-prosa-cache"] == "hit"
    a, b = first.parse().data
    assert len(a.embedding) == 384 and abs(np.linalg.norm(a.embedding) - 1) < 1e-3
    assert np.allclose(second.parse().data[0].embedding, b.embedding)


def test_library_sync_async_and_langchain_share_the_cache(tmp_path):
    db = tmp_path / "c.db"
    client = Client(cache=str(db))
    one = client.embed(["the sky is blue", "grass is green"], model="local")
    assert one.cached == 0 and one.array.shape == (2, 384) and one.prompt_tokens > 0
    two = asyncio.run(AsyncClient(cache=str(db)).embed("grass is green", model="local"))
    assert two.cached == 1 and np.allclose(two.array[0], one.array[1])
    from prosa.langchain import ProsaEmbeddings

    lc = ProsaEmbeddings(cache=str(db))
    assert np.allclose(lc.embed_query("the sky is blue"), one.vectors[0])
    with pytest.raises(InvalidRequest, match="dimensions"):
        client.embed("x", model="local", dimensions=3)


def test_cli_embed_prints_one_vector_per_line(tmp_path):
    db = str(tmp_path / "c.db")
    out = run_prosa("embed", "--cache", db, "first text", "second text")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 2 and len(rows[0]) == 384
    again = run_prosa("embed", "--cache", db, "--json", "-", input="second text\n")
    data = json.loads(again.stdout)
    assert data["cached"] == 1 and np.allclose(data["data"][0]["embedding"], rows[1], atol=1e-6)
    assert run_prosa("embed", "--cache", db).returncode == 2
