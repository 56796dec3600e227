"""The openai provider through the real openai SDK, over real HTTP, against servers on loopback."""

from __future__ import annotations

import asyncio

import pytest

from prosa import AsyncClient, Client
from prosa.errors import (
    AuthError,
    InvalidRequest,
    StreamInterrupted,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from tests.support import UPSTREAM_KEY, free_port


def test_llama_server_sync_whole_and_stream(llama_upstream):
    client = Client(base_url=llama_upstream.base_url, api_key=UPSTREAM_KEY, cache=None)
    whole = client.chat("Name a fruit.", model="smol", max_tokens=8, temperature=0)
    assert whole.provider == "openai" and whole.model == "smol"
    assert whole.text.strip() and whole.finish_reason in ("stop", "length")
    stream = client.chat("Name a fruit.", model="smol", max_tokens=8, temperature=0, stream=True)
    parts = [c.text for c in stream]
    assert len(parts) > 1
    assert "".join(parts) == whole.text == stream.reply.text


def test_llama_server_async_whole_and_stream(llama_upstream):
    async def main():
        client = AsyncClient(base_url=llama_upstream.base_url, api_key=UPSTREAM_KEY, cache=None)
        whole = await client.chat("Name a planet.", model="smol", max_tokens=8, temperature=0)
        stream = await client.chat("Name a planet.", model="smol", max_tokens=8, temperature=0, stream=True)
        parts = [c.text async for c in stream]
        return whole, parts, stream.reply

    whole, parts, reply = asyncio.run(main())
    assert "".join(parts) == whole.text == reply.text


def test_default_model_with_a_key_is_gpt_4o_mini(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-whatever")
    assert Client(cache=None).default_model() == "gpt-4o-mini"


def test_missing_key_for_openai_host():
    with pytest.raises(
        AuthError, match="no OpenAI API key: set OPENAI_API_KEY or run `prosa keys set openai`"
    ):
        Client(cache=None).chat("hi", model="gpt-4o-mini")


def test_key_from_key_store(llama_upstream):
    from prosa.config import keys_path, write_keys

    write_keys({"openai": UPSTREAM_KEY})
    assert oct(keys_path().stat().st_mode & 0o777) == "0o600"
    reply = Client(base_url=llama_upstream.base_url, cache=None).chat("Hi", model="smol", max_tokens=3)
    assert reply.text


def test_rejected_key_is_an_auth_error_without_the_key(llama_upstream):
    bad = "sk-wrong-key-should-not-leak-1234"
    with pytest.raises(AuthError) as info:
        Client(base_url=llama_upstream.base_url, api_key=bad, cache=None).chat("hi", model="smol")
    assert "rejected the API key (401" in str(info.value)
    assert bad not in str(info.value)


def test_closed_port_is_unreachable():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(UpstreamUnreachable, match=f"cannot reach {url}: connection refused"):
        Client(base_url=url, api_key="k", max_retries=0, cache=None).chat("hi", model="x")


@pytest.mark.parametrize("status", [429, 500, 503])
def test_upstream_status_errors_pass_their_message(scripted_upstream, status):
    client = Client(base_url=scripted_upstream.base_url, api_key="k", max_retries=0, cache=None)
    with pytest.raises(UpstreamError) as info:
        client.chat("hi", model=f"status-{status}")
    assert info.value.status_code == status
    assert f"scripted failure {status}" in str(info.value)


def test_upstream_400_is_invalid_request(scripted_upstream):
    client = Client(base_url=scripted_upstream.base_url, api_key="k", max_retries=0, cache=None)
    with pytest.raises(InvalidRequest, match="rejected the request \\(400\\)"):
        client.chat("hi", model="status-400")


def test_retries_on_5xx_as_the_sdk_does(scripted_upstream):
    client = Client(base_url=scripted_upstream.base_url, api_key="k", max_retries=2, cache=None)
    before = scripted_upstream.count()
    with pytest.raises(UpstreamError):
        client.chat("hi", model="status-503")
    assert scripted_upstream.count() - before == 3


def test_timeout_is_configurable(scripted_upstream):
    client = Client(base_url=scripted_upstream.base_url, api_key="k", timeout=0.5, max_retries=0, cache=None)
    with pytest.raises(UpstreamTimeout, match="did not answer within 0.5s"):
        client.chat("hi", model="slow")


def test_cut_stream_is_an_interruption(scripted_upstream):
    client = Client(base_url=scripted_upstream.base_url, api_key="k", max_retries=0, cache=None)
    with pytest.raises(StreamInterrupted):
        for _ in client.chat("hi", model="cut", stream=True):
            pass


def test_list_models(scripted_upstream):
    client = Client(base_url=scripted_upstream.base_url, api_key="k", cache=None)
    assert client.list_models() == ["local", "ok"]
