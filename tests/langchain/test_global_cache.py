"""ChatProsa without ``cache_store`` under LangChain's ``set_llm_cache``: a prosa cache set there serves
its invoke and its streams (tool calls included), decided at each call, and stores each answer once.

The scripted upstream's request counter proves a hit never reached it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.caches import InMemoryCache as LangChainInMemoryCache
from langchain_core.globals import set_llm_cache
from langchain_core.tools import tool

from prosa.cache import MemoryStore
from prosa.langchain import ChatProsa, InMemoryCache, SQLiteCache, StoreCache
from tests.support import Server


@tool
def lookup(query: str) -> str:
    """Look a query up in the reference book."""
    return f"the book says {query!r} is 42"


def chat_prosa(server: Server, model: str = "ok", **kwargs: Any) -> ChatProsa:
    return ChatProsa(model=model, base_url=server.base_url, api_key="sk-test", **kwargs)


def entries(cache: StoreCache) -> int:
    return int(cache.store.info()["entries"])


def test_a_prosa_global_cache_serves_invoke_and_stream(scripted_upstream: Server) -> None:
    model = chat_prosa(scripted_upstream)  # built before set_llm_cache: the cache is found at call time
    before = scripted_upstream.count()
    model.invoke("first question")
    model.invoke("first question")
    assert scripted_upstream.count() == before + 2  # no cache anywhere yet

    cache = InMemoryCache()
    set_llm_cache(cache)
    first = model.invoke("second question")
    second = model.invoke("second question")
    streamed = list(model.stream("second question"))
    assert scripted_upstream.count() == before + 3
    assert (
        second.content
        == first.content
        == "".join(str(c.content) for c in streamed)
        == "one two three four five"
    )
    assert (first.response_metadata["cached"], second.response_metadata["cached"]) == (False, True)
    assert streamed[-1].response_metadata["cached"] is True
    a = [c.content for c in model.stream("third question")]
    b = [c.content for c in model.stream("third question")]
    assert a == b and scripted_upstream.count() == before + 4
    # Each answer stored once, by prosa's layer: LangChain's layer kept no copy of its own.
    assert entries(cache) == 2
    assert (cache.stats()["hits"], cache.stats()["misses"]) == (3, 2)


@pytest.mark.asyncio
async def test_a_prosa_global_cache_serves_async_tool_calls(
    scripted_upstream: Server, tmp_path: Path
) -> None:
    model = chat_prosa(scripted_upstream, "agent").bind_tools([lookup])
    cache = SQLiteCache(database_path=tmp_path / "lc.db")
    set_llm_cache(cache)
    before = scripted_upstream.count()
    whole = await model.ainvoke("capital of Paraguay")
    chunks = [c async for c in model.astream("capital of Paraguay")]
    again = await model.ainvoke("capital of Paraguay")
    assert scripted_upstream.count() == before + 1
    calls = [
        {"name": "lookup", "args": {"query": "capital of Paraguay"}, "id": "call_1", "type": "tool_call"}
    ]
    assert whole.tool_calls == again.tool_calls == calls
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert total.tool_calls == calls and chunks[-1].response_metadata["cached"] is True
    assert entries(cache) == 1
    cache.close()


def test_the_cache_in_force_is_the_one_set_last(scripted_upstream: Server, tmp_path: Path) -> None:
    model = chat_prosa(scripted_upstream)
    first, second = InMemoryCache(), SQLiteCache(database_path=tmp_path / "lc.db")
    set_llm_cache(first)
    model.invoke("which cache")
    set_llm_cache(second)
    before = scripted_upstream.count()
    assert model.invoke("which cache").response_metadata["cached"] is False
    assert model.invoke("which cache").response_metadata["cached"] is True
    assert scripted_upstream.count() == before + 1
    assert (entries(first), entries(second)) == (1, 1)
    set_llm_cache(None)
    assert model.invoke("which cache").response_metadata["cached"] is False
    second.close()


def test_other_caches_are_not_taken_over(scripted_upstream: Server) -> None:
    # LangChain's own cache is not prosa's: ChatProsa (cache=False by default) leaves it alone.
    langchain_cache = LangChainInMemoryCache()
    set_llm_cache(langchain_cache)
    model = chat_prosa(scripted_upstream)
    before = scripted_upstream.count()
    model.invoke("left alone")
    assert model.invoke("left alone").response_metadata["cached"] is False
    assert scripted_upstream.count() == before + 2 and langchain_cache._cache == {}
    # An explicit cache_store wins over a prosa global cache.
    prosa_cache = InMemoryCache()
    set_llm_cache(prosa_cache)
    store = MemoryStore()
    own = chat_prosa(scripted_upstream, cache_store=store)
    own.invoke("my own store")
    assert own.invoke("my own store").response_metadata["cached"] is True
    assert (store.info()["entries"], entries(prosa_cache)) == (1, 0)
    # cache=None asks for LangChain's own layer: it alone caches (invoke only), so nothing is kept twice.
    layered = chat_prosa(scripted_upstream, cache=None)
    layered.invoke("layered")
    assert entries(prosa_cache) == 1 and prosa_cache.stats()["misses"] == 1
    layered.invoke("layered")
    assert entries(prosa_cache) == 1 and prosa_cache.stats()["hits"] == 1


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_langgraph_agent_on_chat_prosa_reruns_from_the_global_cache(
    scripted_upstream: Server, tmp_path: Path
) -> None:
    from langgraph.prebuilt import create_react_agent

    set_llm_cache(SQLiteCache(database_path=tmp_path / "lc.db"))
    agent = create_react_agent(chat_prosa(scripted_upstream, "agent"), [lookup])
    question = {"messages": [("user", "capital of Guyana")]}
    before = scripted_upstream.count()
    first = agent.invoke(question)["messages"]
    assert first[-1].content == "Tool said: the book says 'capital of Guyana' is 42"
    assert scripted_upstream.count() == before + 2
    again = agent.invoke(question)["messages"]
    assert [(m.type, m.content) for m in again] == [(m.type, m.content) for m in first]
    assert again[-1].response_metadata["cached"] is True
    assert scripted_upstream.count() == before + 2


def test_chat_openai_tool_calls_are_kept_by_a_prosa_global_cache(
    scripted_upstream: Server, tmp_path: Path
) -> None:
    """Under any LangChain model (LangChain's layer, invoke only), a tool call is kept whole too."""
    from langchain_openai import ChatOpenAI

    cache = SQLiteCache(database_path=tmp_path / "lc.db")
    set_llm_cache(cache)
    # streaming=True: the scripted model always streams; invoke still goes through LangChain's cache.
    llm = ChatOpenAI(
        model="agent", base_url=scripted_upstream.base_url, api_key="sk-test", max_retries=0, streaming=True
    )
    bound = llm.bind_tools([lookup])
    before = scripted_upstream.count()
    first = bound.invoke("capital of Suriname")
    second = bound.invoke("capital of Suriname")
    assert scripted_upstream.count() == before + 1
    calls = [
        {"name": "lookup", "args": {"query": "capital of Suriname"}, "id": "call_1", "type": "tool_call"}
    ]
    assert first.tool_calls == second.tool_calls == calls
    assert (cache.stats()["hits"], entries(cache)) == (1, 1)
    cache.close()
