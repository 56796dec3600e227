"""Semantic-cache fixtures: the bundled embedding model, loaded once per session."""

from __future__ import annotations

import pytest

from prosa.cache.semantic import embed


@pytest.fixture(scope="session")
def minilm() -> embed.Embedder:
    if not embed.available():
        pytest.skip(f"the embedding model is not installed: {embed.INSTALL_HINT}")
    return embed.load_embedder("minilm")
