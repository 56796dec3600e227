"""Grounding tests: a private data dir, and token counts that never depend on a network download."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "prosa-data"
    monkeypatch.setenv("PROSA_DATA_DIR", str(home))
    # tiktoken would try to download its BPE file; tests count with the documented estimate instead,
    # so their budgets are the same on every machine. (The fallback itself is tested on its own.)
    monkeypatch.setattr("prosa.grounding.tokens._tiktoken_encoding", lambda model: None)
    return home
