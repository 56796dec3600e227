"""ChatProsa: a LangChain chat model whose invoke, stream and astream are served from prosa's cache.

The OpenAI provider runs against a real llama.cpp server on loopback, whose request counter proves
a hit never reached it; one test runs the embedded local model, with the model call made to fail
after the first answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.caches import InMemoryCache as LangChainInMemoryCache
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.globals import set_llm_cache
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from prosa.cache import MemoryStore
from prosa.errors import InvalidRequest
from prosa.langchain import ChatProsa
from tests.support import UPSTREAM_KEY, Server


def chat_prosa(server: Server, **kwargs: Any) -> ChatProsa:
    options: dict[str, Any] = {"cache_store": "memory", "temperature": 0, "max_tokens": 8, **kwargs}
    return ChatProsa(model="smol", base_url=server.base_url, api_key=UPSTREAM_KEY, **options)


class Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


def contents(chunks: list[AIMessageChunk]) -> list[Any]:
    return [chunk.content for chunk in chunks]


def test_invoke_is_cached(llama_upstream: Server) -> None:
    model = chat_prosa(llama_upstream)
    before = llama_upstream.count()
    first = model.invoke("Name one colour.")
    second = model.invoke("Name one colour.")
    assert llama_upstream.count() == before + 1
    assert second.content == first.content and first.content
    assert first.response_metadata["cached"] is False and second.response_metadata["cached"] is True
    assert second.response_metadata["model_name"] == "smol"
    assert second.response_metadata["finish_reason"] in ("stop", "length")
    assert set(second.usage_metadata) >= {"input_tokens", "output_tokens", "total_tokens"}
    # Another max_tokens is another question: it goes to the model.
    model.invoke("Name one colour.", max_tokens=4)
    assert llama_upstream.count() == before + 2


def test_stream_is_cached_and_replays_the_same_chunks(llama_upstream: Server) -> None:
    model = chat_prosa(llama_upstream)
    before = llama_upstream.count()
    first = list(model.stream("Name one fruit."))
    assert llama_upstream.count() == before + 1
    second = list(model.stream("Name one fruit."))
    assert llama_upstream.count() == before + 1
    assert contents(second) == contents(first) and len(first) > 2
    assert first[-1].response_metadata["cached"] is False and second[-1].response_metadata["cached"] is True
    assert second[-1].usage_metadata is not None and second[-1].response_metadata["finish_reason"]
    # A streamed answer also serves a later invoke: one key for both.
    whole = model.invoke("Name one fruit.")
    assert llama_upstream.count() == before + 1
    assert whole.content == "".join(contents(first))


def test_a_stream_stopped_early_is_not_cached(llama_upstream: Server) -> None:
    # A longer answer, so that it cannot have been read whole before the reader stops.
    model = chat_prosa(llama_upstream, max_tokens=24)
    before = llama_upstream.count()
    for _ in model.stream("Name one river."):
        break
    assert list(model.stream("Name one river."))[-1].response_metadata["cached"] is False
    assert llama_upstream.count() == before + 2


@pytest.mark.asyncio
async def test_astream_and_ainvoke_are_cached(llama_upstream: Server, tmp_path: Path) -> None:
    model = chat_prosa(llama_upstream, cache_store=tmp_path / "prosa.db")
    before = llama_upstream.count()
    first = [chunk async for chunk in model.astream("Name one tree.")]
    second = [chunk async for chunk in model.astream("Name one tree.")]
    whole = await model.ainvoke("Name one tree.")
    assert llama_upstream.count() == before + 1
    assert contents(second) == contents(first)
    assert second[-1].response_metadata["cached"] is True and whole.response_metadata["cached"] is True
    assert whole.content == "".join(contents(first))


def test_token_callbacks_fire_on_a_cached_replay(llama_upstream: Server) -> None:
    store = MemoryStore()  # shared by both models below, so the last call is a hit, not a second answer
    model = chat_prosa(llama_upstream, cache_store=store)
    before = llama_upstream.count()
    streamed, replayed = Tokens(), Tokens()
    chunks = list(model.stream("Name one bird.", config={"callbacks": [streamed]}))
    list(model.stream("Name one bird.", config={"callbacks": [replayed]}))
    assert llama_upstream.count() == before + 1
    assert replayed.tokens == streamed.tokens == contents(chunks)
    # With streaming=True, invoke streams internally, and a cached answer still reports its tokens.
    invoked = Tokens()
    answer = chat_prosa(llama_upstream, streaming=True, cache_store=store).invoke(
        "Name one bird.", config={"callbacks": [invoked]}
    )
    assert llama_upstream.count() == before + 1
    assert invoked.tokens == streamed.tokens and answer.content == "".join(streamed.tokens)


@pytest.mark.asyncio
async def test_batch_and_abatch_are_cached(llama_upstream: Server) -> None:
    model = chat_prosa(llama_upstream)
    questions = ["Name one metal.", "Name one gas."]
    before = llama_upstream.count()
    # One at a time: llama.cpp's server cuts a stream in progress when another request arrives.
    first = model.batch(questions, config={"max_concurrency": 1})
    assert llama_upstream.count() == before + 2
    again = model.batch(questions)
    later = await model.abatch(questions)
    assert llama_upstream.count() == before + 2
    assert [m.content for m in again] == [m.content for m in later] == [m.content for m in first]


def test_an_lcel_chain_is_cached(llama_upstream: Server) -> None:
    prompt = ChatPromptTemplate.from_messages([("system", "Answer in one word."), ("human", "{question}")])
    chain = prompt | chat_prosa(llama_upstream) | StrOutputParser()
    before = llama_upstream.count()
    first = chain.invoke({"question": "Name one ocean."})
    second = chain.invoke({"question": "Name one ocean."})
    streamed = "".join(chain.stream({"question": "Name one ocean."}))
    assert llama_upstream.count() == before + 1
    assert isinstance(first, str) and first and second == first == streamed


def test_langchain_global_cache_is_left_alone_by_default(llama_upstream: Server) -> None:
    """prosa's cache serves ChatProsa; LangChain's global one would store every answer twice."""
    global_cache = LangChainInMemoryCache()
    set_llm_cache(global_cache)
    store = MemoryStore()
    chat_prosa(llama_upstream, cache_store=store).invoke("Name one season.")
    assert global_cache._cache == {} and store.info()["entries"] == 1
    chat_prosa(llama_upstream, cache_store=store, cache=None).invoke("Name one season.")  # asked for
    assert len(global_cache._cache) == 1


def test_local_model_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    model = ChatProsa(cache_store="memory", temperature=0, max_tokens=8)
    messages = [SystemMessage(content="Answer briefly."), HumanMessage(content="What is 2 + 2?")]
    first = model.invoke(messages)
    assert first.response_metadata["cached"] is False and first.response_metadata["provider"] == "local"
    assert first.usage_metadata["input_tokens"] > 0 and first.usage_metadata["output_tokens"] > 0

    from prosa.providers.local import LocalProvider

    def no_model(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the local model was called for a cached answer")

    monkeypatch.setattr(LocalProvider, "stream", no_model)
    monkeypatch.setattr(LocalProvider, "astream", no_model)
    second = model.invoke(messages)
    chunks = list(model.stream(messages))
    assert second.content == first.content == "".join(contents(chunks))
    assert second.response_metadata["cached"] is True
    assert chunks[-1].usage_metadata["output_tokens"] == first.usage_metadata["output_tokens"]


def test_what_prosa_cannot_send_is_refused_in_one_line() -> None:
    model = ChatProsa(cache_store=None, api_key="sk-secret-value-123")
    assert "sk-secret-value-123" not in repr(model)
    with pytest.raises(InvalidRequest, match="local model does not take tools"):
        model.invoke("hi", tools=[{"type": "function", "function": {"name": "f"}}])
    with pytest.raises(InvalidRequest, match=r"messages\[1\].tool_call_id must be a non-empty string"):
        model.invoke([HumanMessage(content="hi"), ToolMessage(content="42", tool_call_id="")])
    with pytest.raises(InvalidRequest, match="image_url.url must be a non-empty string"):
        model.invoke([HumanMessage(content=[{"type": "image_url", "image_url": {"url": ""}}])])
    with pytest.raises(InvalidRequest, match="temperature must be between 0 and 2"):
        model.invoke("hi", temperature=3)


def test_structured_output_in_json_mode_from_a_real_model_is_cached(llama_upstream: Server) -> None:
    """llama.cpp's server constrains the answer to JSON: parsed, then served again from the cache."""
    structured = chat_prosa(llama_upstream, max_tokens=60).with_structured_output(method="json_mode")
    question = "Give a JSON object describing the capital of France."
    before = llama_upstream.count()
    first = structured.invoke(question)
    assert isinstance(first, dict) and first
    assert structured.invoke(question) == first
    assert list(structured.stream(question))[-1] == first
    assert llama_upstream.count() == before + 1


def test_without_langchain_the_error_names_the_extra(tmp_path):
    import subprocess
    import sys

    # A real interpreter where langchain_core cannot be imported (a finder that refuses it).
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('langchain_core', 'langchain'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "try:\n"
        "    from prosa.langchain import ChatProsa\n"
        "except ModuleNotFoundError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        "prosa.langchain.ChatProsa needs LangChain (langchain_core is not installed): pip install 'prosa[langchain]'"
    )
