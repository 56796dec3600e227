"""Tool loops over the scripted tool-calling model `agent`: through `prosa serve` with the openai SDK, and
through `prosa.Client`; each loop a second time served entirely from the cache. And tool_choice in the key."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState

from prosa import Client
from tests.servers.gateway_proc import Gateway, over_scripted
from tests.support import get_json

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look a fact up.",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}},
                "required": ["query"],
            },
        },
    }
]


@pytest.fixture(scope="module")
def gw(scripted_upstream, tmp_path_factory) -> Gateway:
    gateway = over_scripted(tmp_path_factory.mktemp("gw-tools"), scripted_upstream)
    yield gateway
    gateway.stop()


def question() -> str:
    return f"What is the tallest mountain? ({uuid.uuid4().hex[:8]})"


def last_body(upstream: Any) -> dict[str, Any]:
    return get_json(f"{upstream.url}/test/last")


def sdk_loop(client: openai.OpenAI, text: str, stream: bool) -> tuple[list[str], list[Any]]:
    """The openai SDK's documented tool loop; returns the x-prosa-cache of each turn and the messages."""
    states = []
    messages: list[Any] = [{"role": "user", "content": text}]
    for _ in range(3):
        if stream:
            raw = client.chat.completions.with_raw_response.create(
                model="agent", messages=messages, tools=TOOLS, stream=True
            )
            states.append(raw.headers["x-prosa-cache"])
            state = ChatCompletionStreamState(input_tools=TOOLS)  # the SDK's own accumulation
            for chunk in raw.parse():
                state.handle_chunk(chunk)
            completion = state.get_final_completion()
        else:
            raw = client.chat.completions.with_raw_response.create(
                model="agent", messages=messages, tools=TOOLS
            )
            states.append(raw.headers["x-prosa-cache"])
            completion = raw.parse()
        message = completion.choices[0].message
        if not message.tool_calls:
            assert completion.choices[0].finish_reason == "stop"
            messages.append(message)
            return states, messages
        assert completion.choices[0].finish_reason == "tool_calls"
        messages.append(message)  # the assistant turn passed back as the SDK returned it
        for call in message.tool_calls:
            args = json.loads(call.function.arguments)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": f"8849 m ({args['query']})"})
    raise AssertionError("the tool loop did not end")


@pytest.mark.parametrize("stream", [False, True])
def test_sdk_tool_loop_through_the_gateway_then_all_from_the_cache(gw, scripted_upstream, stream):
    client = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    text = question()
    before = scripted_upstream.count()
    states, messages = sdk_loop(client, text, stream)
    assert states == ["miss", "miss"]
    assert scripted_upstream.count() - before == 2
    # What the upstream received for the answer turn: the assistant's tool call and the tool result, whole.
    sent = last_body(scripted_upstream)["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    call = sent[1]["tool_calls"][0]
    assert (call["id"], call["type"], call["function"]["name"]) == ("call_1", "function", "lookup")
    assert json.loads(call["function"]["arguments"]) == {"query": text}
    assert sent[1].get("content") is None
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": f"8849 m ({text})"}
    assert messages[-1].content == f"Tool said: 8849 m ({text})"
    # The same loop again: every turn from the cache, the same answers.
    again_states, again = sdk_loop(client, text, stream)
    assert again_states == ["hit", "hit"]
    assert scripted_upstream.count() - before == 2
    assert again[-1].content == messages[-1].content
    assert again[1].tool_calls[0].function.arguments == messages[1].tool_calls[0].function.arguments


@pytest.fixture
def client(scripted_upstream, tmp_path: Path) -> Client:
    c = Client(base_url=scripted_upstream.base_url, api_key="k", cache=f"sqlite:///{tmp_path / 'c.db'}")
    yield c
    c.close()


@pytest.mark.parametrize("as_message", [False, True], ids=["reply", "reply.message"])
def test_client_tool_loop_then_all_from_the_cache(client, scripted_upstream, as_message):
    text = question()
    before = scripted_upstream.count()

    def loop() -> list[Any]:
        first = client.chat(text, model="agent", tools=TOOLS)
        assert first.finish_reason == "tool_calls" and first.text == ""
        [call] = first.tool_calls
        assert (call.id, call.name, call.parsed) == ("call_1", "lookup", {"query": text})
        assert json.loads(call.arguments) == {"query": text}
        turn = first.message if as_message else first
        messages = [
            {"role": "user", "content": text},
            turn,
            {"role": "tool", "tool_call_id": call.id, "content": "8849 m"},
        ]
        answer = client.chat(messages, model="agent", tools=TOOLS)
        assert answer.text == "Tool said: 8849 m" and answer.finish_reason == "stop"
        return [first, answer]

    fresh = loop()
    assert [r.cached for r in fresh] == [False, False]
    sent = last_body(scripted_upstream)["messages"]
    assert sent[1]["tool_calls"][0]["id"] == "call_1" and sent[1].get("content") is None
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": "8849 m"}
    cached = loop()
    assert [r.cached for r in cached] == [True, True]
    assert scripted_upstream.count() - before == 2
    # A streamed call of the first turn replays the tool call too.
    stream = client.chat(text, model="agent", tools=TOOLS, stream=True)
    assert [c.to_dict() for c in stream.reply.tool_calls] == [c.to_dict() for c in fresh[0].tool_calls]
    assert stream.reply.cached is True


def test_tool_choice_none_required_auto_are_distinct_entries(gw, scripted_upstream):
    text = question()

    def ask(tool_choice: str) -> httpx.Response:
        body = {"model": "agent", "messages": [{"role": "user", "content": text}], "tools": TOOLS,
                "tool_choice": tool_choice}  # fmt: skip
        return httpx.post(gw.chat_url, json=body, timeout=30)

    before = scripted_upstream.count()
    for choice in ("none", "required", "auto"):
        assert ask(choice).headers["x-prosa-cache"] == "miss", choice
    assert scripted_upstream.count() - before == 3
    for choice in ("none", "required", "auto"):
        r = ask(choice)
        assert r.headers["x-prosa-cache"] == "hit", choice
        message = r.json()["choices"][0]["message"]
        if choice == "none":
            assert message["content"] == "No tools needed." and "tool_calls" not in message
        else:
            assert message["content"] is None and message["tool_calls"][0]["function"]["name"] == "lookup"
    assert scripted_upstream.count() - before == 3


def test_client_tool_choice_none_required_auto_are_distinct_entries(client, scripted_upstream):
    text = question()
    replies = {
        c: client.chat(text, model="agent", tools=TOOLS, tool_choice=c) for c in ("none", "required", "auto")
    }
    assert [r.cached for r in replies.values()] == [False, False, False]
    assert len({r.key for r in replies.values()}) == 3
    again = {c: client.chat(text, model="agent", tools=TOOLS, tool_choice=c) for c in replies}
    assert all(r.cached is True for r in again.values())
    assert again["none"].text == "No tools needed." and again["none"].tool_calls == []
    assert again["required"].tool_calls[0].name == again["auto"].tool_calls[0].name == "lookup"
