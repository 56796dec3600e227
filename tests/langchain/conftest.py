"""Fixtures for the LangChain integration: LangChain's global cache is reset after every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.globals import set_llm_cache


@pytest.fixture(autouse=True)
def no_global_llm_cache() -> Iterator[None]:
    yield
    set_llm_cache(None)
