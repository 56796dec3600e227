"""LangChain's ChatOpenAI with bound tools, and a langgraph ReAct agent, through a real `prosa serve`.

The gateway runs as its own process in front of the scripted upstream's ``agent`` model, a
tool-calling model; the upstream's request counter proves a repeat never reached it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from tests.servers.gateway_proc import Gateway, start_gateway
from tests.support import ROOT, Server


@tool
def lookup(query: str) -> str:
    """Look a query up in the reference book."""
    return f"the book says {query!r} is 42"


@pytest.fixture(scope="module")
def gateway(scripted_upstream: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    home = tmp_path_factory.mktemp("gw-lc-tools")
    # This checkout's prosa, whichever one the environment has installed.
    path = os.pathsep.join((str(ROOT / "src"), str(ROOT)))
    gateway = start_gateway(
        home, "--upstream", scripted_upstream.base_url,
        env={"OPENAI_API_KEY": "sk-gateway-own-key", "PYTHONPATH": path},
        config="[openai]\nmax_retries = 0\n",
    )  # fmt: skip
    yield gateway
    gateway.stop()


def chat_openai(gateway: Gateway, **kwargs: Any) -> ChatOpenAI:
    return ChatOpenAI(model="agent", base_url=gateway.base_url, api_key="any", max_retries=0, **kwargs)


def call(question: str) -> list[dict[str, Any]]:
    return [{"name": "lookup", "args": {"query": question}, "id": "call_1", "type": "tool_call"}]


def joined(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


def test_chat_openai_tool_calls_are_cached_faithfully(gateway: Gateway, scripted_upstream: Server) -> None:
    llm = chat_openai(gateway, include_response_headers=True).bind_tools([lookup], tool_choice="lookup")
    before = scripted_upstream.count()
    first = llm.invoke("capital of Peru")
    second = llm.invoke("capital of Peru")
    assert scripted_upstream.count() == before + 1
    assert first.tool_calls == second.tool_calls == call("capital of Peru")
    assert (
        first.response_metadata["finish_reason"] == second.response_metadata["finish_reason"] == "tool_calls"
    )
    assert first.response_metadata["headers"]["x-prosa-cache"] == "miss"
    assert second.response_metadata["headers"]["x-prosa-cache"] == "hit"
    # tool_choice is in the key: "none" is another question (answered in text by the model).
    text = chat_openai(gateway).bind_tools([lookup], tool_choice="none").invoke("capital of Peru")
    assert text.tool_calls == [] and text.content == "No tools needed."
    assert scripted_upstream.count() == before + 2


def test_chat_openai_streamed_tool_calls_replay_the_same_fragments(
    gateway: Gateway, scripted_upstream: Server
) -> None:
    llm = chat_openai(gateway).bind_tools([lookup])
    before = scripted_upstream.count()
    first = list(llm.stream("capital of Chile"))
    second = list(llm.stream("capital of Chile"))
    assert scripted_upstream.count() == before + 1
    fragments = [c.tool_call_chunks for c in first]
    assert [c.tool_call_chunks for c in second] == fragments
    assert sum(1 for f in fragments if f) == 2  # the arguments came in two fragments, and are replayed so
    assert joined(first).tool_calls == joined(second).tool_calls == call("capital of Chile")
    # The streamed answer serves a whole one: the same tool calls, no upstream call.
    assert llm.invoke("capital of Chile").tool_calls == call("capital of Chile")
    assert scripted_upstream.count() == before + 1


def test_a_plain_tool_loop_through_the_gateway(gateway: Gateway, scripted_upstream: Server) -> None:
    llm = chat_openai(gateway).bind_tools([lookup])

    def run() -> list[Any]:
        messages: list[Any] = [("user", "capital of Ecuador")]
        reply = llm.invoke(messages)
        while isinstance(reply, AIMessage) and reply.tool_calls:
            messages.append(reply)
            messages += [lookup.invoke(tool_call) for tool_call in reply.tool_calls]
            reply = llm.invoke(messages)
        return [*messages, reply]

    before = scripted_upstream.count()
    first = run()
    assert scripted_upstream.count() == before + 2
    assert isinstance(first[2], ToolMessage) and first[2].tool_call_id == "call_1"
    assert first[-1].content == "Tool said: the book says 'capital of Ecuador' is 42"
    again = run()
    assert scripted_upstream.count() == before + 2
    assert [m.content for m in again[1:]] == [m.content for m in first[1:]]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_langgraph_react_agent_runs_through_the_gateway_and_reruns_from_the_cache(
    gateway: Gateway, scripted_upstream: Server
) -> None:
    from langgraph.prebuilt import create_react_agent

    agent = create_react_agent(chat_openai(gateway), [lookup])
    question = {"messages": [("user", "capital of Uruguay")]}
    before = scripted_upstream.count()
    first = agent.invoke(question)["messages"]
    assert scripted_upstream.count() == before + 2  # the tool call, then the answer
    assert [m.type for m in first] == ["human", "ai", "tool", "ai"]
    assert first[1].tool_calls == call("capital of Uruguay")
    answer = "Tool said: the book says 'capital of Uruguay' is 42"
    assert first[-1].content == answer
    # The whole loop again, then streamed token by token: every model call is served by the cache.
    again = agent.invoke(question)["messages"]
    assert [(m.type, m.content) for m in again] == [(m.type, m.content) for m in first]
    streamed = [
        chunk.content
        for chunk, meta in agent.stream(question, stream_mode="messages")
        if isinstance(chunk, AIMessageChunk)
    ]
    assert "".join(streamed) == answer
    assert scripted_upstream.count() == before + 2
