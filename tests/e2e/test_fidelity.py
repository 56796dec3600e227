"""Replay fidelity: recorded upstream streams through a real `prosa serve`, read with the real openai SDK.

For each recording in tests/data/streams (text, parallel tool calls, refusal, logprobs, n=2, include_usage,
reasoning_content, an answer with a lone surrogate): the miss and its hit send the same chunks as the upstream did (only ``id``/``created``
renewed), streamed and whole, with or without include_usage; the SDK's accumulated objects are equal; and
a streamed miss serves a whole hit and the other way round. Comparing with the recording itself (not only
miss with hit) catches a core that drops a field on both.
"""

from __future__ import annotations

import uuid
from typing import Any

import openai
import pytest

from tests.e2e.fidelity_support import (
    as_sent_to,
    ordered,
    post,
    recording,
    sdk_final,
    sdk_view,
    sse,
    without_renewed,
)
from tests.servers.gateway_proc import Gateway, over_scripted

RECORDINGS = ["text", "include_usage", "tool_calls", "refusal", "logprobs", "n2", "reasoning", "surrogate"]


@pytest.fixture(scope="module")
def gw(scripted_upstream, tmp_path_factory) -> Gateway:
    gateway = over_scripted(tmp_path_factory.mktemp("gw-fidelity"), scripted_upstream)
    yield gateway
    gateway.stop()


def sdk(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)


def body(name: str, stream: bool, include_usage: bool | None = None) -> dict[str, Any]:
    """A request for the recording NAME that no other test sends (the module's gateway shares one cache)."""
    out: dict[str, Any] = {
        "model": f"replay:{name}",
        "messages": [{"role": "user", "content": f"replay {name} ({uuid.uuid4().hex[:8]})"}],
        "stream": stream,
    }
    if include_usage is not None:
        out["stream_options"] = {"include_usage": include_usage}
    return out


def upstream_final(upstream: Any, name: str) -> dict[str, Any]:
    """The SDK's accumulation of the recording, read straight from the upstream (no prosa in between)."""
    messages = [{"role": "user", "content": "direct"}]
    final = sdk_final(sdk(upstream.base_url), model=f"replay:{name}", messages=messages)
    return sdk_view(final)


@pytest.mark.parametrize("include_usage", [True, False])
@pytest.mark.parametrize("name", RECORDINGS)
def test_streamed_miss_and_hit_send_the_recorded_chunks(gw, scripted_upstream, name, include_usage):
    request = body(name, stream=True, include_usage=include_usage)
    before = scripted_upstream.count()
    miss, hit = post(gw.chat_url, request), post(gw.chat_url, request)
    assert (miss.headers["x-prosa-cache"], hit.headers["x-prosa-cache"]) == ("miss", "hit")
    assert scripted_upstream.count() - before == 1
    miss_events, hit_events = sse(miss), sse(hit)
    expected = as_sent_to(without_renewed(recording(name)), include_usage)
    assert without_renewed(miss_events) == expected
    assert without_renewed(hit_events) == expected
    # The same fields in the same order as the upstream wrote them.
    assert ordered(without_renewed(hit_events)) == ordered(expected)
    assert miss_events[0]["id"] != hit_events[0]["id"]  # each answer is its own completion
    # The usage the upstream sent goes only to those who asked for it.
    recorded_usage = any(e.get("usage") for e in recording(name))
    assert recorded_usage is (name != "text")
    assert any(e.get("usage") for e in hit_events) is (recorded_usage and include_usage)


def test_without_stream_options_no_usage_is_sent(gw):
    """A client that never mentions stream_options gets no usage chunk and no usage fields."""
    request = body("include_usage", stream=True)
    for _ in range(2):
        events = sse(post(gw.chat_url, request))
        assert without_renewed(events) == as_sent_to(without_renewed(recording("include_usage")), False)


@pytest.mark.parametrize("name", RECORDINGS)
def test_whole_miss_and_hit_equal_the_sdk_accumulation_of_the_recording(gw, scripted_upstream, name):
    client = sdk(gw.base_url)
    request = body(name, stream=False)
    before = scripted_upstream.count()
    raw_miss = client.chat.completions.with_raw_response.create(
        model=request["model"], messages=request["messages"]
    )
    raw_hit = client.chat.completions.with_raw_response.create(
        model=request["model"], messages=request["messages"]
    )
    assert (raw_miss.headers["x-prosa-cache"], raw_hit.headers["x-prosa-cache"]) == ("miss", "hit")
    assert scripted_upstream.count() - before == 1
    miss_json, hit_json = raw_miss.http_response.json(), raw_hit.http_response.json()
    assert miss_json["object"] == hit_json["object"] == "chat.completion"
    assert miss_json["id"] != hit_json["id"]
    assert without_renewed([miss_json]) == without_renewed([hit_json])
    assert "obfuscation" not in miss_json  # chunk padding, not part of an answer
    miss, hit = raw_miss.parse(), raw_hit.parse()
    expected = upstream_final(scripted_upstream, name)
    assert sdk_view(miss) == expected
    assert sdk_view(hit) == expected


@pytest.mark.parametrize("name", RECORDINGS)
def test_sdk_stream_accumulation_through_the_gateway_equals_the_upstreams(gw, scripted_upstream, name):
    client = sdk(gw.base_url)
    request = body(name, stream=True)
    kwargs = {
        "model": request["model"],
        "messages": request["messages"],
        "stream_options": {"include_usage": True},
    }
    expected = upstream_final(scripted_upstream, name)
    assert sdk_view(sdk_final(client, **kwargs)) == expected  # the miss
    assert sdk_view(sdk_final(client, **kwargs)) == expected  # its hit
    whole = client.chat.completions.with_raw_response.create(
        model=request["model"], messages=request["messages"]
    )
    assert whole.headers["x-prosa-cache"] == "hit"  # the streamed miss serves a whole hit
    assert sdk_view(whole.parse()) == expected


@pytest.mark.parametrize("name", RECORDINGS)
def test_whole_miss_serves_a_streamed_hit_with_the_recorded_chunks(gw, scripted_upstream, name):
    first = body(name, stream=False)
    before = scripted_upstream.count()
    whole = post(gw.chat_url, first)
    assert whole.status_code == 200 and whole.headers["x-prosa-cache"] == "miss"
    for include_usage in (True, False):
        hit = post(gw.chat_url, {**first, "stream": True, "stream_options": {"include_usage": include_usage}})
        assert hit.headers["x-prosa-cache"] == "hit"
        assert without_renewed(sse(hit)) == as_sent_to(without_renewed(recording(name)), include_usage)
    assert scripted_upstream.count() - before == 1


def test_streamed_tool_calls_miss_serves_whole_tool_calls(gw):
    """The case of the issue: a streamed tool-call answer must not come back as an empty whole answer."""
    client = sdk(gw.base_url)
    request = body("tool_calls", stream=True)
    sse(post(gw.chat_url, request))
    whole = client.chat.completions.create(model=request["model"], messages=request["messages"])
    message = whole.choices[0].message
    assert whole.choices[0].finish_reason == "tool_calls"
    assert message.content is None
    calls = [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []]
    assert calls == [
        ("call_9pXhKQ3rWm2L1sVbN7cT4yZa", "get_weather", '{"location": "Paris, France"}'),
        ("call_Jd8sF2kLqP0vX5nR3tY6uW1e", "get_time", '{"tz": "Europe/Paris"}'),
    ]


def test_whole_answers_read_what_each_recording_carries(gw):
    """Spot checks of the assembled whole answers against values written in the recordings."""
    client = sdk(gw.base_url)

    def ask(name: str) -> Any:
        request = body(name, stream=False)
        return client.chat.completions.create(model=request["model"], messages=request["messages"])

    text = ask("text")
    assert text.choices[0].message.content == "Hi, how are you?" and text.usage is None
    assert text.system_fingerprint == "fp_560af6e559" and text.service_tier == "default"
    usage = ask("include_usage").usage
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        14,
        7,
        21,
    )
    assert usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details.rejected_prediction_tokens == 0
    refusal = ask("refusal").choices[0].message
    assert (refusal.content, refusal.refusal) == (None, "I'm sorry, I can't help with that.")
    logprobs = ask("logprobs").choices[0].logprobs
    assert [t.token for t in logprobs.content] == ["Hello", "!", " 👋"]
    assert [[a.token for a in t.top_logprobs] for t in logprobs.content] == [
        ["Hello", "Hi"],
        ["!", " there"],
        [" 👋", "!"],
    ]
    n2 = ask("n2")
    assert [(c.index, c.message.content, c.finish_reason) for c in n2.choices] == [
        (0, "Red sky at night.", "stop"),
        (1, "Blue sea.", "stop"),
    ]
    reasoning = ask("reasoning")
    message = reasoning.choices[0].message.model_dump()
    assert message["content"] == "2 + 2 = 4"
    assert message["reasoning_content"] == "Okay, the user asks 2+2. That is 4."
    assert reasoning.usage.completion_tokens_details.reasoning_tokens == 16


UNFINISHED = [
    "unfinished",  # one choice, no finish_reason before [DONE]
    "n2_unfinished",
]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("name", UNFINISHED)
def test_an_answer_with_an_unfinished_choice_is_interrupted_and_never_cached(
    gw, scripted_upstream, name, stream
):
    """A stream that ends (even with [DONE]) before every choice has its finish_reason is a cut answer."""
    request = body(name, stream=stream)
    before = scripted_upstream.count()
    for _ in range(2):
        r = post(gw.chat_url, request)
        if stream:  # the status went out with the first chunk: the failure is the last frame
            assert r.status_code == 200 and r.headers["x-prosa-cache"] == "miss"
            assert r.text.strip().split("\n\n")[-1].startswith('data: {"error":')
        else:
            assert r.status_code == 502, r.text
    assert scripted_upstream.count() - before == 2  # nothing was cached


def test_concurrent_identical_requests_share_one_upstream_answer_each_rendered_as_asked(
    gw, scripted_upstream
):
    """Single-flight: one upstream call (the scripted `drip` model takes about a second); each follower
    gets the same chunks, with the usage chunk only where asked, and a whole answer is the same record."""
    from concurrent.futures import ThreadPoolExecutor

    base = {"model": "drip", "messages": [{"role": "user", "content": f"together {uuid.uuid4().hex[:8]}"}]}
    variants = [
        {**base, "stream": True, "stream_options": {"include_usage": True}},
        {**base, "stream": True},
        {**base, "stream": True, "stream_options": {"include_usage": True}},
        base,
    ]
    before = scripted_upstream.count()
    with ThreadPoolExecutor(len(variants)) as pool:
        answers = list(pool.map(lambda b: post(gw.chat_url, b), variants))
    assert scripted_upstream.count() - before == 1
    with_usage, without, again = (without_renewed(sse(r)) for r in answers[:3])
    assert with_usage == again
    assert without == as_sent_to(with_usage, False)
    assert with_usage[-1]["choices"] == [] and with_usage[-1]["usage"]["completion_tokens"] == 20
    whole = answers[3].json()
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in without)
    assert whole["choices"][0]["message"]["content"] == text == "".join(f" w{i}" for i in range(20))
    assert whole["usage"] == with_usage[-1]["usage"]
