"""The sync and async doors are one pipeline: the same scenarios through Client and AsyncClient (their
ChatStream and AsyncChatStream), and through ChatProsa's invoke/stream and ainvoke/astream, give the
same observable results.

Each scenario is written once, as a coroutine over a *side*: the sync side calls the blocking API (from
inside the coroutine, so one scenario text serves both), the async side awaits. Every side gets its own
fresh cache (memory or a SQLite file) against the one real scripted upstream, so keys, texts, chunks,
cache flags, upstream calls and errors must all agree; each scenario also checks what it expects, so
the two sides cannot agree on a wrong answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk

from prosa import AsyncClient, Client
from prosa.cache import MemoryStore, SQLiteStore
from prosa.errors import ProsaError
from prosa.langchain import ChatProsa
from tests.support import Server
from tests.test_cache_scopes import backdate

LOOKUP = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look a query up.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
}


def observe(reply: Any) -> dict[str, Any]:
    """Everything a caller sees of a Reply but its latency."""
    usage = reply.usage
    return {
        "text": reply.text, "model": reply.model, "provider": reply.provider, "cached": reply.cached,
        "finish_reason": reply.finish_reason, "chunks": reply.chunks, "key": reply.key,
        "tool_calls": [c.to_dict() for c in reply.tool_calls], "completion": reply.completion,
        "usage": (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
    }  # fmt: skip


def failure(error: BaseException) -> dict[str, Any]:
    return {
        "error": type(error).__name__,
        "message": str(error),
        "status": getattr(error, "status_code", None),
    }


class Seen:
    """What a reader saw of a stream: what it said before the first chunk, each chunk's data, then the
    Reply (unless the reader stopped after ``stop_after`` chunks) or the error."""

    def __init__(self, stop_after: int | None) -> None:
        self.stop_after = stop_after
        self.out: dict[str, Any] = {"data": []}

    def open(self, stream: Any) -> None:
        self.out["known"] = (stream.model, stream.provider, stream.cached)

    def took(self, chunk: Any) -> bool:
        self.out["data"].append(chunk.data)
        return len(self.out["data"]) == self.stop_after

    def __enter__(self) -> Seen:
        return self

    def __exit__(self, kind: Any, error: BaseException | None, tb: Any) -> bool:
        if isinstance(error, ProsaError):
            self.out.update(failure(error))
            return True
        return False


class SyncSide:
    """Client and ChatStream, called from a coroutine (they block it, which a test may)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def ask(self, prompt: Any, **kw: Any) -> dict[str, Any]:
        try:
            return observe(self.client.chat(prompt, **kw))
        except ProsaError as e:
            return failure(e)

    async def stream(self, prompt: Any, stop_after: int | None = None, **kw: Any) -> dict[str, Any]:
        seen = Seen(stop_after)
        with seen, self.client.chat(prompt, stream=True, **kw) as stream:
            seen.open(stream)
            for chunk in stream:
                if seen.took(chunk):
                    return seen.out
            seen.out["reply"] = observe(stream.reply)
        return seen.out


class AsyncSide(SyncSide):
    """AsyncClient and AsyncChatStream."""

    client: AsyncClient  # type: ignore[assignment]

    async def ask(self, prompt: Any, **kw: Any) -> dict[str, Any]:
        try:
            return observe(await self.client.chat(prompt, **kw))
        except ProsaError as e:
            return failure(e)

    async def stream(self, prompt: Any, stop_after: int | None = None, **kw: Any) -> dict[str, Any]:
        seen = Seen(stop_after)
        with seen:
            stream = await self.client.chat(prompt, stream=True, **kw)
            async with stream:
                seen.open(stream)
                async for chunk in stream:
                    if seen.took(chunk):
                        return seen.out
                seen.out["reply"] = observe(stream.reply)
        return seen.out


Scenario = Callable[[SyncSide, Server], Awaitable[list[Any]]]


async def miss_then_hit(side: SyncSide, up: Server) -> list[Any]:
    before = up.count()
    miss = await side.ask("Name a prime", model="ok", temperature=0)
    hit = await side.ask("Name a prime", model="ok", temperature=0)
    assert (miss["cached"], hit["cached"], miss["text"]) == (False, True, "one two three four five")
    assert {**hit, "cached": False} == miss  # the hit is the miss, but for the flag
    return [miss, hit, up.count() - before]


async def streamed_and_whole(side: SyncSide, up: Server) -> list[Any]:
    before = up.count()
    miss = await side.stream("Count to five", model="ok")
    hit = await side.stream("Count to five", model="ok")
    paced = await side.stream("Count to five", model="ok", pace=True)
    whole = await side.ask("Count to five", model="ok")
    assert (
        miss["data"] == hit["data"] == paced["data"] and len(miss["data"]) == 7
    )  # 5 words, the finish, the usage
    assert (miss["known"][2], hit["known"][2], whole["cached"]) == (False, True, True)
    assert whole["completion"] == miss["reply"]["completion"]
    return [miss, hit, paced, whole, up.count() - before]


async def refresh(side: SyncSide, up: Server) -> list[Any]:
    before = up.count()
    out = [await side.ask("Name a tree", model="ok", **kw) for kw in ({}, {"refresh": True}, {})]
    out.append(await side.stream("Name a tree", model="ok", refresh=True))
    out.append(await side.ask("Name a tree", model="ok", use_cache=False))
    assert [o["cached"] for o in out[:3]] == [False, False, True] and up.count() - before == 4
    return [*out, up.count() - before]


async def controls(side: SyncSide, up: Server) -> list[Any]:
    before = up.count()
    out = [
        await side.ask("Name a river", model="ok", namespace="a"),
        await side.ask("Name a river", model="ok", namespace="b"),
        await side.ask("Name a river", model="ok", namespace="c", only_if_cached=True),
        await side.stream("Name a river", model="ok", namespace="c", only_if_cached=True),
        await side.ask("Name a river", model="ok", namespace="a", only_if_cached=True),
        await side.ask("Name a river", model="ok", namespace="a", max_age=3600),
    ]
    store = side.client.cache.store  # type: ignore[union-attr]
    backdate(store, out[0]["key"], 600)
    out.append(await side.ask("Name a river", model="ok", namespace="a", max_age=60))  # stale: asked again
    out.append(await side.ask("Name a river", model="ok", namespace="a", max_age=60, only_if_cached=True))
    assert out[2]["error"] == out[3]["error"] == "NotCached"
    assert [o.get("cached") for o in out] == [False, False, None, None, True, True, False, True]
    return [*out, up.count() - before]


async def ttl(side: SyncSide, up: Server) -> list[Any]:
    await side.ask("Name a lake", model="ok", ttl=90)
    await side.stream("Name a sea", model="ok", ttl=30)
    await side.ask("Name a bay", model="ok")
    store = side.client.cache.store  # type: ignore[union-attr]
    store.flush()
    lifetimes = sorted(round(i.expires - i.created) for i in store.scan())
    assert lifetimes == [30, 90, 86400]
    return lifetimes


async def tool_calls(side: SyncSide, up: Server) -> list[Any]:
    before = up.count()
    question = [{"role": "user", "content": "capital of Peru"}]
    whole = await side.ask(question, model="agent", tools=[LOOKUP])
    streamed = await side.stream(question, model="agent", tools=[LOOKUP])
    call = whole["tool_calls"]
    assert call[0]["function"]["name"] == "lookup" and streamed["reply"]["cached"] is True
    answer = [*question, {"role": "assistant", "content": None, "tool_calls": call},
              {"role": "tool", "tool_call_id": call[0]["id"], "content": "Lima"}]  # fmt: skip
    final = await side.ask(answer, model="agent", tools=[LOOKUP])
    assert final["text"] == "Tool said: Lima"
    return [whole, streamed, final, up.count() - before]


async def cut_and_errors(side: SyncSide, up: Server) -> list[Any]:
    before = up.count()
    out = [
        await side.stream("cut", model="cut"),
        await side.ask("cut", model="cut"),  # the cut answer was not stored: asked again
        await side.stream("early", model="drip", stop_after=2),
        await side.stream("early", model="drip"),  # the abandoned answer was not stored either
        await side.ask("err", model="status-500"),
        await side.ask("err", model="status-400"),
        await side.ask("err", model="status-401"),
        await side.ask("bad", model="ok", namespace="a/b"),
        await side.ask("bad", model="ok", max_age=-1),
        await side.ask([], model="ok"),
    ]
    assert [o.get("error") for o in out[:2]] == ["StreamInterrupted"] * 2 and len(out[0]["data"]) == 2
    assert len(out[2]["data"]) == 2 and "reply" not in out[2] and "error" not in out[2]
    assert out[3]["reply"]["cached"] is False and len(out[3]["data"]) == 22
    assert [(o["error"], o["status"]) for o in out[4:7]] == [
        ("UpstreamError", 500),
        ("InvalidRequest", None),
        ("AuthError", None),
    ]
    assert [o["error"] for o in out[7:]] == ["InvalidRequest"] * 3  # refused before the model is asked
    store = side.client.cache.store  # type: ignore[union-attr]
    store.flush()
    assert [i.key for i in store.scan()] == [out[3]["reply"]["key"]]  # only the whole drip answer
    return [*out, up.count() - before]


SCENARIOS = [miss_then_hit, streamed_and_whole, refresh, controls, ttl, tool_calls, cut_and_errors]


def store_of(kind: str, path: Path) -> Any:
    return MemoryStore(ttl=86400) if kind == "memory" else SQLiteStore(path, ttl=86400)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_client_and_async_client_agree(
    scenario: Scenario, kind: str, scripted_upstream: Server, tmp_path: Path
) -> None:
    def options(name: str) -> dict[str, Any]:
        store = store_of(kind, tmp_path / f"{name}.db")
        return {"base_url": scripted_upstream.base_url, "api_key": "sk-k", "max_retries": 0, "cache": store}

    client = Client(**options("sync"))
    sync = asyncio.run(scenario(SyncSide(client), scripted_upstream))
    client.close()

    async def run_async() -> list[Any]:
        aclient = AsyncClient(**options("async"))
        try:
            return await scenario(AsyncSide(aclient), scripted_upstream)  # type: ignore[arg-type]
        finally:
            await aclient.aclose()

    assert asyncio.run(run_async()) == sync


# -- ChatProsa: invoke/stream against ainvoke/astream ----------------------------------------------------


def message_view(message: Any) -> dict[str, Any]:
    return {
        "content": message.content, "tool_calls": getattr(message, "tool_calls", None),
        "tool_call_chunks": getattr(message, "tool_call_chunks", None),
        "metadata": message.response_metadata, "usage": message.usage_metadata,
    }  # fmt: skip


async def chat_prosa_scenario(model: ChatProsa, sync: bool, up: Server) -> list[Any]:
    async def invoke(*a: Any, **kw: Any) -> Any:
        try:
            return message_view(model.invoke(*a, **kw) if sync else await model.ainvoke(*a, **kw))
        except ProsaError as e:
            return failure(e)

    async def stream(*a: Any, **kw: Any) -> Any:
        if sync:
            chunks = list(model.stream(*a, **kw))
        else:
            chunks = [c async for c in model.astream(*a, **kw)]
        return [message_view(c) for c in chunks]

    before = up.count()
    tools = model.bind_tools([LOOKUP])
    out = [
        await invoke("Name a prime", model="ok"),
        await invoke("Name a prime", model="ok"),
        await stream("Name a prime", model="ok"),
        await stream("Say hi", model="ok"),
        await stream("Say hi", model="ok"),
        await invoke("err", model="status-500"),
    ]
    whole = tools.invoke("capital of Peru") if sync else await tools.ainvoke("capital of Peru")
    streamed = (
        list(tools.stream("capital of Peru")) if sync else [c async for c in tools.astream("capital of Peru")]
    )
    joined = streamed[0]
    for c in streamed[1:]:
        joined = joined + c
    out += [message_view(whole), [message_view(c) for c in streamed], message_view(joined)]
    assert [o["metadata"]["cached"] for o in out[:2]] == [False, True] and out[0]["content"] == out[1][
        "content"
    ]
    assert out[2][-1]["metadata"]["cached"] is True and out[4][-1]["metadata"]["cached"] is True
    assert "".join(c["content"] for c in out[3]) == out[0]["content"] == "one two three four five"
    assert out[5]["status"] == 500
    assert isinstance(joined, AIMessageChunk) and joined.tool_calls[0]["args"] == {"query": "capital of Peru"}
    assert whole.tool_calls == joined.tool_calls
    return [*out, up.count() - before]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_chat_prosa_sync_and_async_agree(kind: str, scripted_upstream: Server, tmp_path: Path) -> None:
    def model(name: str) -> ChatProsa:
        store = "memory" if kind == "memory" else f"sqlite:///{tmp_path / name}.db"
        return ChatProsa(
            model="agent",
            base_url=scripted_upstream.base_url,
            api_key="sk-k",
            max_retries=0,
            cache_store=store,
        )

    sync = asyncio.run(chat_prosa_scenario(model("sync"), True, scripted_upstream))
    assert asyncio.run(chat_prosa_scenario(model("async"), False, scripted_upstream)) == sync
