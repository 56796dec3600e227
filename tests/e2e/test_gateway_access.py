"""`prosa serve` access: gateway keys, forwarded caller keys, binding rules, and a gateway with no upstream."""

from __future__ import annotations

import uuid

import httpx
import openai
import pytest

from tests.servers.gateway_proc import Gateway, start_gateway
from tests.support import UPSTREAM_KEY, free_port, run_prosa


def ask(model: str = "local") -> dict:
    return {
        "model": model,
        "messages": [{"role": "user", "content": f"Hi {uuid.uuid4().hex[:6]}"}],
        "max_tokens": 2,
    }


@pytest.fixture(scope="module")
def gw_keys(tmp_path_factory) -> Gateway:
    """Access keys from --api-key and PROSA_GATEWAY_KEYS; no upstream at all (only the local model); no cache."""
    gateway = start_gateway(
        tmp_path_factory.mktemp("gw-keys"), "--api-key", "key-one", "--api-key", "key-two", "--cache", "off",
        env={"PROSA_GATEWAY_KEYS": "key-three, key-four"},
    )  # fmt: skip
    yield gateway
    gateway.stop()


def test_requests_without_a_valid_key_are_401(gw_keys):
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "key-one"},
        {"X-Prosa-Key": "key-one"},
    ):
        r = httpx.post(gw_keys.chat_url, json=ask(), headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["type"] == "authentication_error"
    for path in ("/v1/models", "/metrics", "/prosa/stats"):
        assert httpx.get(gw_keys.url + path).status_code == 401


def test_every_configured_key_is_accepted(gw_keys):
    for key in ("key-one", "key-two", "key-three", "key-four"):
        # Past the key check, the request meets validation: 400, not 401.
        r = httpx.post(
            gw_keys.chat_url, json={**ask(), "temperature": 9}, headers={"Authorization": f"Bearer {key}"}
        )
        assert r.status_code == 400 and r.json()["error"]["param"] == "temperature"
    r = httpx.post(gw_keys.chat_url, json=ask(), headers={"Authorization": "Bearer key-three"}, timeout=120)
    assert r.status_code == 200, r.text
    assert r.headers["x-prosa-cache"] == "bypass"  # --cache off
    client = openai.OpenAI(base_url=gw_keys.base_url, api_key="key-two", max_retries=0)
    assert [m.id for m in client.models.list()] == ["local"]
    assert (
        gw_keys.metric('prosa_gateway_requests_total{status="401"}', {"Authorization": "Bearer key-one"}) >= 4
    )


def test_stats_without_a_cache_are_the_gateways_own(gw_keys):
    stats = httpx.get(f"{gw_keys.url}/prosa/stats", headers={"Authorization": "Bearer key-one"}).json()
    assert stats["cache"] is None and stats["gateway"]["bypasses"] >= 1


def test_health_and_web_page_need_no_key(gw_keys):
    assert httpx.get(f"{gw_keys.url}/healthz").status_code == 200
    page = httpx.get(f"{gw_keys.url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_without_upstream_other_models_are_404(gw_keys):
    r = httpx.post(gw_keys.chat_url, json=ask("gpt-4o-mini"), headers={"Authorization": "Bearer key-one"})
    assert r.status_code == 404
    error = r.json()["error"]
    assert error["code"] == "model_not_found" and error["param"] == "model"
    assert "--upstream" in error["message"]


def test_forwarded_caller_keys(llama_upstream, tmp_path_factory):
    """--forward-key: the caller's bearer goes upstream; it never reaches a log or the cache."""
    home = tmp_path_factory.mktemp("gw-forward")
    gw = start_gateway(home, "--forward-key", "--upstream", llama_upstream.base_url)
    wrong = "sk-wrong-caller-key-5a6b7c8d9e"
    try:
        good = openai.OpenAI(base_url=gw.base_url, api_key=UPSTREAM_KEY, max_retries=0)
        messages = [{"role": "user", "content": f"Name a fruit ({uuid.uuid4().hex[:6]})"}]
        first = good.chat.completions.with_raw_response.create(model="smol", messages=messages, max_tokens=4)
        second = good.chat.completions.with_raw_response.create(model="smol", messages=messages, max_tokens=4)
        assert (first.headers["x-prosa-cache"], second.headers["x-prosa-cache"]) == ("miss", "hit")
        bad = openai.OpenAI(base_url=gw.base_url, api_key=wrong, max_retries=0)
        for asked in (messages, [{"role": "user", "content": "a new question"}]):
            # Not even the answer cached a moment ago: the upstream has never accepted this key.
            with pytest.raises(openai.AuthenticationError) as caught:
                bad.chat.completions.create(model="smol", messages=asked, max_tokens=4)
            assert wrong not in str(caught.value)
        nobody = httpx.post(gw.chat_url, json=ask("smol"), timeout=30)  # no key at all
        assert nobody.status_code == 401
    finally:
        gw.stop()
    for secret in (UPSTREAM_KEY, wrong):
        assert secret not in gw.log()
        for path in (home / "cache").glob("*"):
            assert secret.encode() not in path.read_bytes()


def test_non_loopback_bind_without_keys_is_refused():
    out = run_prosa("serve", "--host", "0.0.0.0", "--port", str(free_port()), timeout=60)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("prosa: refusing to listen on 0.0.0.0 without access keys")
    assert "--insecure" in lines[0]


def test_bad_options_are_one_line_usage_errors():
    for args, message in ((["--workers", "0"], "--workers must be at least 1"),
                          (["--max-body", "0"], "--max-body must be at least 1"),
                          (["--cache", "ftp://x"], "unknown cache")):  # fmt: skip
        out = run_prosa("serve", "--port", str(free_port()), *args, timeout=60)
        assert out.returncode == 2, out.stderr
        assert out.stderr.strip().splitlines()[-1].startswith("prosa: ") and message in out.stderr
    assert "examples:" in run_prosa("serve", "--help").stdout
