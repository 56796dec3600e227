"""prosa's caches under LangChain's real ChatOpenAI, against a real OpenAI-compatible server on loopback.

Every test counts the chat requests the server received: a hit must not reach it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.globals import set_llm_cache
from langchain_openai import ChatOpenAI

from prosa.langchain import InMemoryCache, RedisCache, SQLiteCache, StoreCache
from tests.support import ROOT, UPSTREAM_KEY, Server


def chat_openai(server: Server) -> ChatOpenAI:
    # langchain-openai sends max_tokens as max_completion_tokens, which llama.cpp's server ignores.
    return ChatOpenAI(
        model="smol",
        base_url=server.base_url,
        api_key=UPSTREAM_KEY,
        temperature=0,
        extra_body={"max_tokens": 8},
        max_retries=0,
    )


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
def test_second_invoke_is_a_hit_that_never_reaches_the_server(
    llama_upstream: Server, tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    cache: StoreCache
    if kind == "memory":
        cache = InMemoryCache()
    elif kind == "sqlite":
        cache = SQLiteCache(database_path=tmp_path / "lc.db")
    else:
        redis_server = request.getfixturevalue("redis_server")
        redis_server.flush()
        cache = RedisCache(redis_server.url)
    set_llm_cache(cache)
    llm = chat_openai(llama_upstream)
    before = llama_upstream.count()
    first = llm.invoke(f"Name one colour ({kind}).")
    assert llama_upstream.count() == before + 1
    second = llm.invoke(f"Name one colour ({kind}).")
    assert llama_upstream.count() == before + 1
    assert second.content == first.content and second.content
    assert second.response_metadata["model_name"] == first.response_metadata["model_name"]
    assert second.usage_metadata["total_tokens"] == first.usage_metadata["total_tokens"]
    stats = cache.stats()
    assert (stats["hits"], stats["misses"], stats["entries"]) == (1, 1, 1)


@pytest.mark.asyncio
async def test_ainvoke_hits_the_sqlite_cache(llama_upstream: Server, tmp_path: Path) -> None:
    set_llm_cache(SQLiteCache(database_path=tmp_path / "lc.db"))
    llm = chat_openai(llama_upstream)
    before = llama_upstream.count()
    first = await llm.ainvoke("Name one animal.")
    second = await llm.ainvoke("Name one animal.")
    assert llama_upstream.count() == before + 1
    assert second.content == first.content


_CHILD = """
import json, sys
from langchain_core.globals import set_llm_cache
from langchain_openai import ChatOpenAI
from prosa.langchain import SQLiteCache

cache = SQLiteCache(database_path=sys.argv[1])
set_llm_cache(cache)
llm = ChatOpenAI(
    model="smol", base_url=sys.argv[2], temperature=0, extra_body={"max_tokens": 8}, max_retries=0
)
answer = llm.invoke("Name one planet.")
print(json.dumps({"content": answer.content, "stats": cache.stats()}))
"""


def test_sqlite_cache_persists_across_processes(llama_upstream: Server, tmp_path: Path) -> None:
    """One process writes the answer; a second one, started later, reads it without asking the server."""
    path = str(tmp_path / "shared.db")
    env = {**os.environ, "OPENAI_API_KEY": UPSTREAM_KEY}

    def child() -> dict:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, path, llama_upstream.base_url],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    before = llama_upstream.count()
    first = child()
    assert llama_upstream.count() == before + 1 and first["stats"]["misses"] == 1
    second = child()
    assert llama_upstream.count() == before + 1
    assert second["content"] == first["content"]
    assert (second["stats"]["hits"], second["stats"]["misses"]) == (1, 1)  # counters live in the file
