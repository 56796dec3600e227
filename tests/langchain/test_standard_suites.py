"""LangChain's own standard cache suites (langchain-tests), run on prosa's caches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.caches import BaseCache
from langchain_tests.integration_tests import AsyncCacheTestSuite, SyncCacheTestSuite

from prosa.langchain import InMemoryCache, RedisCache, SQLiteCache

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
