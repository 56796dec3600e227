"""ChatProsa's tool calling: bind_tools, with_structured_output, messages both ways, all cached like text.

The scripted upstream's ``agent`` model calls the first tool it is given with {"query": <the question>}
(its arguments streamed in two fragments), then answers "Tool said: ..." once it has tool results; its
request counter proves a hit never reached it, and ``/test/last`` shows the body it received.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from pydantic import BaseModel
from typing_extensions import TypedDict

from prosa.errors import InvalidRequest
from prosa.integrations.langchain import convert
from prosa.integrations.langchain.tools import _check_refusal
from prosa.langchain import ChatProsa
from prosa.reply import Reply
from tests.support import Server, get_json


@tool
def lookup(query: str) -> str:
    """Look a query up in the reference book."""
    return f"the book says {query!r} is 42"


class Search(BaseModel):
    """A search to run."""

    query: str


class SearchDict(TypedDict):
    """A search to run."""

    query: str


def agent(server: Server, **kwargs: Any) -> ChatProsa:
    return ChatProsa(
        model="agent", base_url=server.base_url, api_key="sk-test", cache_store="memory", **kwargs
    )


def last_body(server: Server) -> dict[str, Any]:
    return get_json(f"{server.url}/test/last")


def joined(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


def test_bound_tools_are_called_and_the_call_is_cached(scripted_upstream: Server) -> None:
    model = agent(scripted_upstream).bind_tools([lookup])
    before = scripted_upstream.count()
    first = model.invoke("capital of Peru")
    second = model.invoke("capital of Peru")
    assert scripted_upstream.count() == before + 1
    expected = [{"name": "lookup", "args": {"query": "capital of Peru"}, "id": "call_1", "type": "tool_call"}]
    assert first.tool_calls == second.tool_calls == expected
    assert first.invalid_tool_calls == [] and first.content == ""
    assert first.response_metadata["finish_reason"] == "tool_calls"
    assert (first.response_metadata["cached"], second.response_metadata["cached"]) == (False, True)
    tools = last_body(scripted_upstream)["tools"]
    assert tools[0]["function"]["name"] == "lookup"
    assert tools[0]["function"]["parameters"]["properties"] == {"query": {"type": "string"}}


def test_a_streamed_tool_call_replays_the_same_fragments(scripted_upstream: Server) -> None:
    model = agent(scripted_upstream).bind_tools([lookup])
    before = scripted_upstream.count()
    first = list(model.stream("capital of Chile"))
    second = list(model.stream("capital of Chile"))
    assert scripted_upstream.count() == before + 1
    fragments = [c.tool_call_chunks for c in first if c.tool_call_chunks]
    args = json.dumps({"query": "capital of Chile"})  # the scripted model sends it in two halves
    half = len(args) // 2
    assert fragments == [
        [{"name": "lookup", "args": args[:half], "id": "call_1", "index": 0, "type": "tool_call_chunk"}],
        [{"name": None, "args": args[half:], "id": None, "index": 0, "type": "tool_call_chunk"}],
    ]
    assert [c.tool_call_chunks for c in second] == [c.tool_call_chunks for c in first]
    whole = joined(second)
    assert whole.tool_calls == [
        {"name": "lookup", "args": {"query": "capital of Chile"}, "id": "call_1", "type": "tool_call"}
    ]
    assert second[-1].response_metadata["cached"] is True
    assert second[-1].response_metadata["finish_reason"] == "tool_calls"
    # stream_options asking for the usage (prosa always records it) is a transport option: same entry.
    usage = list(model.stream("capital of Chile", stream_options={"include_usage": True}))[-1].usage_metadata
    assert usage == {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
    # The streamed answer serves invoke too: one entry, the same tool calls.
    assert model.invoke("capital of Chile").tool_calls == whole.tool_calls
    assert scripted_upstream.count() == before + 1


@pytest.mark.asyncio
async def test_ainvoke_and_astream_share_the_cached_tool_call(scripted_upstream: Server) -> None:
    model = agent(scripted_upstream).bind_tools([lookup])
    before = scripted_upstream.count()
    whole = await model.ainvoke("capital of Bolivia")
    chunks = [c async for c in model.astream("capital of Bolivia")]
    assert scripted_upstream.count() == before + 1
    assert joined(chunks).tool_calls == whole.tool_calls and whole.tool_calls[0]["args"] == {
        "query": "capital of Bolivia"
    }


def test_every_bound_kwarg_reaches_the_request_and_the_key(scripted_upstream: Server) -> None:
    model = agent(scripted_upstream)
    before = scripted_upstream.count()
    bound = model.bind_tools([lookup], tool_choice="lookup", parallel_tool_calls=False, top_k=3)
    bound.invoke("where is Lima", stop=["END"], logprobs=True)
    body = last_body(scripted_upstream)
    assert body["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}
    assert (body["parallel_tool_calls"], body["top_k"], body["stop"], body["logprobs"]) == (
        False,
        3,
        ["END"],
        True,
    )
    # tool_choice is in the key: "none" is another question, answered in text.
    answer = model.bind_tools([lookup], tool_choice="none").invoke(
        "where is Lima", stop=["END"], logprobs=True
    )
    assert answer.tool_calls == [] and answer.content == "No tools needed."
    assert last_body(scripted_upstream)["tool_choice"] == "none"
    for choice, sent in (("any", "required"), ("auto", "auto")):
        model.bind_tools([lookup], tool_choice=choice).invoke("where is Lima")
        assert last_body(scripted_upstream)["tool_choice"] == sent
    assert scripted_upstream.count() == before + 4
    # True is "required" too: the same request, served from the cache.
    again = model.bind_tools([lookup], tool_choice=True).invoke("where is Lima")
    assert again.response_metadata["cached"] is True and scripted_upstream.count() == before + 4
    strict = model.bind_tools([lookup], strict=True, response_format=Search)
    strict.invoke("where is Lima")
    body = last_body(scripted_upstream)
    assert body["tools"][0]["function"]["strict"] is True
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "Search"


def test_what_cannot_be_sent_is_refused_in_one_line(scripted_upstream: Server) -> None:
    model = agent(scripted_upstream)
    with pytest.raises(
        InvalidRequest, match="tool_choice must be auto, none, required, any, True or a bound"
    ):
        model.bind_tools([lookup], tool_choice="search")
    with pytest.raises(InvalidRequest, match="ChatProsa streams one choice"):
        list(model.stream("hi", n=2))
    with pytest.raises(InvalidRequest, match="tools must be a list of objects"):
        model.invoke("hi", tools="lookup")
    with pytest.raises(InvalidRequest, match="stream_options takes only include_usage=True"):
        model.invoke("hi", stream_options={"include_usage": False})
    with pytest.raises(InvalidRequest, match="needs a schema"):
        model.with_structured_output(None, method="json_schema")


def test_a_tool_loop_sends_every_turn_in_openai_form(scripted_upstream: Server) -> None:
    model = agent(scripted_upstream).bind_tools([lookup])
    messages: list[Any] = [
        SystemMessage(content=[{"type": "text", "text": "Use the book."}]),
        HumanMessage(
            content=[
                {"type": "text", "text": "what is this picture"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
            ]
        ),
    ]
    call = model.invoke(messages)
    assert isinstance(call, AIMessage) and len(call.tool_calls) == 1
    messages.append(call)
    for tool_call in call.tool_calls:
        messages.append(lookup.invoke(tool_call))  # a ToolMessage with the call's id
    answer = model.invoke(messages)
    assert answer.content == "Tool said: the book says 'what is this picture' is 42"
    sent = last_body(scripted_upstream)["messages"]
    assert sent[0] == {"role": "system", "content": [{"type": "text", "text": "Use the book."}]}
    assert sent[1]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "https://example.com/cat.png", "detail": "low"},
    }
    assert sent[2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "type": "function",
                "id": "call_1",
                "function": {"name": "lookup", "arguments": '{"query": "what is this picture"}'},
            }
        ],
    }
    assert sent[3] == {
        "role": "tool",
        "content": "the book says 'what is this picture' is 42",
        "tool_call_id": "call_1",
    }
    # The whole loop again: both turns from the cache.
    before = scripted_upstream.count()
    assert model.invoke(messages[:2]).tool_calls == call.tool_calls
    assert model.invoke(messages).content == answer.content
    assert scripted_upstream.count() == before


def test_with_structured_output_by_function_calling(scripted_upstream: Server) -> None:
    model = agent(scripted_upstream)
    before = scripted_upstream.count()
    assert model.with_structured_output(Search).invoke("weather in Quito") == Search(query="weather in Quito")
    body = last_body(scripted_upstream)
    assert body["tool_choice"] == {"type": "function", "function": {"name": "Search"}}
    assert body["parallel_tool_calls"] is False
    assert model.with_structured_output(SearchDict).invoke("weather in Quito") == {
        "query": "weather in Quito"
    }
    raw = model.with_structured_output(Search, include_raw=True).invoke("weather in Quito")
    assert raw["parsed"] == Search(query="weather in Quito") and raw["parsing_error"] is None
    assert raw["raw"].response_metadata["cached"] is True
    streamed = list(model.with_structured_output(Search).stream("weather in Quito"))
    assert streamed[-1] == Search(query="weather in Quito")
    assert scripted_upstream.count() == before + 2  # one per tool schema; the rest were hits


def test_with_structured_output_by_json_schema_and_json_mode(scripted_upstream: Server) -> None:
    model = agent(scripted_upstream)
    raw = model.with_structured_output(Search, method="json_schema", include_raw=True).invoke("hi")
    sent = last_body(scripted_upstream)["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["name"] == "Search"
    assert sent["json_schema"]["schema"]["properties"] == {"query": {"type": "string"}}
    # The scripted model answers in plain text, which is not the JSON asked for: a parsing error.
    assert raw["parsed"] is None and isinstance(raw["parsing_error"], OutputParserException)
    model.with_structured_output(method="json_mode", include_raw=True).invoke("hi")
    assert last_body(scripted_upstream)["response_format"] == {"type": "json_object"}


def test_replies_convert_to_langchain_messages_faithfully() -> None:
    completion = {
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "logprobs": {"content": []},
                "message": {
                    "role": "assistant",
                    "content": None,
                    "reasoning_content": "think",
                    "tool_calls": [
                        {"id": "a", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}},
                        {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{oops"}},
                    ],
                },
            },
            {"index": 1, "finish_reason": "stop", "message": {"role": "assistant", "content": None,
                                                               "refusal": "I cannot."}},
        ]
    }  # fmt: skip
    reply = Reply("", "m", "openai", "tool_calls", completion=completion)
    first, second = convert.result(reply).generations
    assert isinstance(first.message, AIMessage) and isinstance(second.message, AIMessage)
    assert first.message.tool_calls == [{"name": "f", "args": {"x": 1}, "id": "a", "type": "tool_call"}]
    assert [(c["name"], c["args"], c["id"]) for c in first.message.invalid_tool_calls] == [
        ("g", "{oops", "b")
    ]
    assert first.message.additional_kwargs == {"reasoning_content": "think"}
    assert first.generation_info == {"finish_reason": "tool_calls", "logprobs": {"content": []}}
    assert second.message.additional_kwargs == {"refusal": "I cannot."}
    # A cached reply's completion is shared with the cache's entry: what a caller changes stays its own.
    first.message.additional_kwargs["reasoning_content"] = "changed"
    assert first.generation_info is not None
    first.generation_info["logprobs"]["content"].append("changed")
    again = convert.result(reply).generations[0]
    assert again.message.additional_kwargs == {"reasoning_content": "think"}
    assert again.generation_info == {"finish_reason": "tool_calls", "logprobs": {"content": []}}
    # Sent back, the invalid call goes as the model wrote it.
    assert convert.to_prosa([first.message])[0]["tool_calls"][1]["function"] == {
        "name": "g",
        "arguments": "{oops",
    }
    # A refusal is an error for structured output, not a silent None.
    with pytest.raises(OutputParserException, match="refused to answer: I cannot."):
        list(_check_refusal(iter([first.message, second.message])))


def test_every_message_kind_reaches_the_upstream_in_openai_form(scripted_upstream: Server) -> None:
    model = ChatProsa(model="echo", base_url=scripted_upstream.base_url, api_key="sk-test", cache_store=None)
    messages = [
        SystemMessage(content="Be brief.", additional_kwargs={"__openai_role__": "developer"}),
        HumanMessage(
            content=[{"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"}, "and this?"],
            name="ann",
        ),
        AIMessage(content="", tool_calls=[{"name": "lookup", "args": {"query": "é"}, "id": "c1"}]),
        ToolMessage(
            content=[{"type": "text", "text": "r1"}], tool_call_id="c1", name="lookup", status="error"
        ),
        AIMessage(content=[{"type": "reasoning", "reasoning": "hmm"}, {"type": "text", "text": "It is r1."}]),
        ChatMessage(role="user", content="so?"),
    ]
    answer = model.invoke(messages)
    assert answer.content == "messages=6 roles=developer,user,assistant,tool,assistant,user last=so?"
    assert last_body(scripted_upstream)["messages"] == [
        {"role": "developer", "content": "Be brief."},
        {
            "role": "user",
            "name": "ann",
            "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "text", "text": "and this?"},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "type": "function",
                    "id": "c1",
                    "function": {"name": "lookup", "arguments": '{"query": "é"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "r1"}]},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "It is r1."}],
        },  # its reasoning not sent back
        {"role": "user", "content": "so?"},
    ]


def test_invoke_with_streaming_on_gives_the_same_cached_tool_calls(scripted_upstream: Server) -> None:
    model = agent(scripted_upstream, streaming=True).bind_tools([lookup])
    before = scripted_upstream.count()
    first = model.invoke("capital of Brazil")
    second = model.invoke("capital of Brazil")
    assert scripted_upstream.count() == before + 1
    assert (
        first.tool_calls
        == second.tool_calls
        == [{"name": "lookup", "args": {"query": "capital of Brazil"}, "id": "call_1", "type": "tool_call"}]
    )
    assert second.response_metadata["cached"] is True
