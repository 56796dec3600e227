"""LangChain's own standard suites (langchain-tests): the cache suites on prosa's caches, and the chat
model unit suite on ChatProsa (tool binding and structured output included).

The chat model integration suite is not run: its tool-calling tests need a real model that calls
the tools they define with the arguments they expect, which no model in this test setup does (the
scripted ``agent`` model calls any first tool with {"query": ...}).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.caches import BaseCache
from langchain_tests.integration_tests import AsyncCacheTestSuite, SyncCacheTestSuite
from langchain_tests.unit_tests import ChatModelUnitTests

from prosa.langchain import ChatProsa, InMemoryCache, RedisCache, SQLiteCache

# The async suites' tests carry no asyncio mark (pytest-asyncio runs in strict mode), so the
# classes are marked; the mark also lands on the suites' one sync test, and pytest-asyncio's
# warning about that is expected.
ASYNC_SUITE = [
    pytest.mark.asyncio,
    pytest.mark.filterwarnings("ignore:The test <Function test_no_overrides:pytest.PytestWarning"),
]


class TestInMemoryCacheSync(SyncCacheTestSuite):
    @pytest.fixture
    def cache(self) -> BaseCache:
        return InMemoryCache()


class TestSQLiteCacheSync(SyncCacheTestSuite):
    @pytest.fixture
    def cache(self, tmp_path: Path) -> Iterator[BaseCache]:
        cache = SQLiteCache(database_path=tmp_path / "langchain.db")
        yield cache
        cache.close()


class TestInMemoryCacheAsync(AsyncCacheTestSuite):
    pytestmark = ASYNC_SUITE

    @pytest.fixture
    def cache(self) -> BaseCache:
        return InMemoryCache()


class TestSQLiteCacheAsync(AsyncCacheTestSuite):
    pytestmark = ASYNC_SUITE

    @pytest.fixture
    def cache(self, tmp_path: Path) -> Iterator[BaseCache]:
        cache = SQLiteCache(database_path=str(tmp_path / "langchain.db"))
        yield cache
        cache.close()


@pytest.fixture
def redis_cache(redis_server) -> Iterator[BaseCache]:
    redis_server.flush()
    cache = RedisCache(redis_server.url)
    yield cache
    cache.close()


class TestRedisCacheSync(SyncCacheTestSuite):
    @pytest.fixture
    def cache(self, redis_cache: BaseCache) -> BaseCache:
        return redis_cache


class TestRedisCacheAsync(AsyncCacheTestSuite):
    pytestmark = ASYNC_SUITE

    @pytest.fixture
    def cache(self, redis_cache: BaseCache) -> BaseCache:
        return redis_cache


class TestChatProsaUnit(ChatModelUnitTests):
    # Two of its tests do not apply and are deselected (conftest.py), not skipped: test_init_from_env
    # (ChatProsa reads OPENAI_API_KEY / OPENAI_BASE_URL through prosa's configuration, not into its
    # own fields) and test_serdes (ChatProsa is not LangChain-serialisable: it holds open clients).

    @property
    def chat_model_class(self) -> type[ChatProsa]:
        return ChatProsa

    @property
    def chat_model_params(self) -> dict:
        # No model is called by the unit suite: an address nothing listens on proves it.
        return {
            "model": "agent",
            "base_url": "http://127.0.0.1:9/v1",
            "api_key": "sk-test",
            "cache_store": None,
        }

    @property
    def has_tool_choice(self) -> bool:
        return True
