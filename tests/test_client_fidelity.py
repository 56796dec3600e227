"""Replay fidelity through the Python door: Client and AsyncClient over the recorded streams.

A chunk's ``data`` is the upstream's chunk less ``id``/``created``/``object``; the miss and the hit give
the same chunks, streamed and whole; ``Reply.completion`` is what the openai SDK accumulates from the
recording; and the Reply's views (tool_calls, refusal, reasoning, logprobs, choices...) read it."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion

from prosa import AsyncClient, Client
from prosa.errors import StreamInterrupted
from tests.e2e.fidelity_support import recording, sdk_final, sdk_view

RECORDINGS = ["text", "include_usage", "tool_calls", "refusal", "logprobs", "n2", "reasoning", "surrogate"]
PER_ANSWER = ("id", "created", "object")


@pytest.fixture
def client(scripted_upstream, tmp_path: Path) -> Client:
    c = Client(base_url=scripted_upstream.base_url, api_key="k", cache=f"sqlite:///{tmp_path / 'c.db'}")
    yield c
    c.close()


def upstream_chunks(name: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k not in PER_ANSWER} for e in recording(name)]


def expected_completion(upstream: Any, name: str) -> dict[str, Any]:
    client = openai.OpenAI(base_url=upstream.base_url, api_key="k", max_retries=0)
    return sdk_view(sdk_final(client, model=f"replay:{name}", messages=[{"role": "user", "content": "x"}]))


def as_sdk(completion: dict[str, Any] | None) -> dict[str, Any]:
    """A Reply's completion read by the openai SDK's own model, so it compares with the SDK's accumulation."""
    assert completion is not None
    assert "id" not in completion and "created" not in completion
    return sdk_view(ChatCompletion.model_validate({**completion, "id": "x", "created": 0}))


def question(name: str) -> str:
    return f"replay {name} ({uuid.uuid4().hex[:8]})"


@pytest.mark.parametrize("name", RECORDINGS)
def test_streamed_miss_and_hit_chunks_carry_the_upstreams_chunks(client, scripted_upstream, name):
    q = question(name)
    before = scripted_upstream.count()
    miss = client.chat(q, model=f"replay:{name}", stream=True)
    miss_data = [c.data for c in miss]
    hit = client.chat(q, model=f"replay:{name}", stream=True)
    hit_data = [c.data for c in hit]
    assert (miss.reply.cached, hit.reply.cached) == (False, True)
    assert scripted_upstream.count() - before == 1
    assert miss_data == upstream_chunks(name)
    assert hit_data == upstream_chunks(name)
    assert json.dumps(hit_data) == json.dumps(upstream_chunks(name))  # the same key order too
    whole = client.chat(q, model=f"replay:{name}")  # the streamed miss serves a whole hit
    assert whole.cached is True
    assert whole.completion == miss.reply.completion == hit.reply.completion
    assert as_sdk(whole.completion) == expected_completion(scripted_upstream, name)


@pytest.mark.parametrize("name", RECORDINGS)
def test_whole_miss_and_hit_equal_the_sdk_accumulation(client, scripted_upstream, name):
    q = question(name)
    miss = client.chat(q, model=f"replay:{name}")
    hit = client.chat(q, model=f"replay:{name}")
    assert (miss.cached, hit.cached) == (False, True)
    expected = expected_completion(scripted_upstream, name)
    assert as_sdk(miss.completion) == expected
    assert as_sdk(hit.completion) == expected
    assert miss.to_dict() | {"latency_ms": 0, "cached": 0} == hit.to_dict() | {"latency_ms": 0, "cached": 0}
    streamed = client.chat(q, model=f"replay:{name}", stream=True)  # the whole miss serves a streamed hit
    assert [c.data for c in streamed] == upstream_chunks(name)
    assert streamed.reply.cached is True


@pytest.mark.parametrize("name", RECORDINGS)
def test_async_client_miss_and_hit(scripted_upstream, tmp_path, name):
    async def run() -> None:
        client = AsyncClient(
            base_url=scripted_upstream.base_url, api_key="k", cache=f"sqlite:///{tmp_path / 'a.db'}"
        )
        q = question(name)
        stream = await client.chat(q, model=f"replay:{name}", stream=True)
        miss = [c.data async for c in stream]
        hit_stream = await client.chat(q, model=f"replay:{name}", stream=True)
        hit = [c.data async for c in hit_stream]
        assert miss == hit == upstream_chunks(name)
        whole = await client.chat(q, model=f"replay:{name}")
        assert whole.cached is True and whole.completion == stream.reply.completion
        await client.aclose()

    asyncio.run(run())


def test_reply_views_read_the_recorded_answers(client):
    def ask(name: str) -> Any:
        return client.chat(question(name), model=f"replay:{name}")

    text = ask("text")
    assert (text.text, text.finish_reason, text.system_fingerprint) == (
        "Hi, how are you?",
        "stop",
        "fp_560af6e559",
    )
    usage = ask("include_usage").usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (14, 7, 21)
    assert usage.details["completion_tokens_details"]["reasoning_tokens"] == 0
    calls = ask("tool_calls")
    assert calls.finish_reason == "tool_calls" and calls.text == ""
    assert [(c.id, c.name, c.parsed) for c in calls.tool_calls] == [
        ("call_9pXhKQ3rWm2L1sVbN7cT4yZa", "get_weather", {"location": "Paris, France"}),
        ("call_Jd8sF2kLqP0vX5nR3tY6uW1e", "get_time", {"tz": "Europe/Paris"}),
    ]
    assert calls.message == {
        "role": "assistant",
        "content": None,
        "tool_calls": [c.to_dict() for c in calls.tool_calls],
    }
    refusal = ask("refusal")
    assert (refusal.text, refusal.refusal) == ("", "I'm sorry, I can't help with that.")
    logprobs = ask("logprobs").logprobs
    assert [t["token"] for t in logprobs["content"]] == ["Hello", "!", " 👋"]
    n2 = ask("n2")
    assert [(c.index, c.text, c.finish_reason) for c in n2.choices] == [
        (0, "Red sky at night.", "stop"),
        (1, "Blue sea.", "stop"),
    ]
    assert n2.text == "Red sky at night."
    reasoning = ask("reasoning")
    assert (reasoning.text, reasoning.reasoning) == ("2 + 2 = 4", "Okay, the user asks 2+2. That is 4.")
    assert reasoning.usage.details["completion_tokens_details"] == {"reasoning_tokens": 16}


@pytest.mark.parametrize(
    "name",
    [
        "unfinished",
        "n2_unfinished",
    ],
)
def test_client_an_unfinished_answer_raises_and_is_not_cached(client, scripted_upstream, name):
    q = question(name)
    before = scripted_upstream.count()
    for _ in range(2):
        with pytest.raises(StreamInterrupted):
            client.chat(q, model=f"replay:{name}")
    assert scripted_upstream.count() - before == 2
