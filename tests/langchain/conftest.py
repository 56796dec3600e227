"""Fixtures for the LangChain integration: LangChain's global cache is reset after every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.globals import set_llm_cache


@pytest.fixture(autouse=True)
def no_global_llm_cache() -> Iterator[None]:
    yield
    set_llm_cache(None)


# Standard tests that do not apply to ChatProsa (see TestChatProsaUnit), left out of the run.
NOT_APPLICABLE = ("TestChatProsaUnit::test_init_from_env", "TestChatProsaUnit::test_serdes")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept = [item for item in items if not item.nodeid.endswith(NOT_APPLICABLE)]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
