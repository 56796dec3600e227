"""Grounding: personas, and answers that rest on your data (files, SQLite, knowledge bases) with citations.

    from prosa import Client
    from prosa.grounding import KnowledgeBase, SQLiteSource

    client = Client()
    client.chat("Which product is cheapest?", persona="analyst",
                data=["products.csv", SQLiteSource("shop.db", table="orders"), KnowledgeBase("docs")])

Names load on first use, so importing this package costs nothing until one is needed.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Context": "context",
    "Report": "context",
    "build_context": "context",
    "ground": "context",
    "AddResult": "kb",
    "KnowledgeBase": "kb",
    "list_knowledge_bases": "kb",
    "data_dir": "paths",
    "Persona": "personas",
    "get_persona": "personas",
    "list_personas": "personas",
    "remove_persona": "personas",
    "save_persona": "personas",
    "Piece": "readers",
    "PieceIndex": "retrieval",
    "match_query": "retrieval",
    "FileSource": "sources",
    "Source": "sources",
    "TextSource": "sources",
    "SQLiteSource": "sqlite_source",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'prosa.grounding' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return __all__
