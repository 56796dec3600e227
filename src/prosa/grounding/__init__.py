"""Grounding: personas, and answers that rest on your data (files, SQLite, knowledge bases) with citations.

    from prosa import Client
    from prosa.grounding import KnowledgeBase, SQLiteSource

    client = Client()
    client.chat("Which product is cheapest?", persona="analyst",
                data=["products.csv", SQLiteSource("shop.db", table="orders"), KnowledgeBase("docs")])

Names load on first use, so importing this package costs nothing until one is needed.
"""

from __future__ import annotations

from .._lazy import lazy_exports

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
    "Source": "source_base",
    "TextSource": "sources",
    "SQLiteSource": "sqlite_source",
}

__all__ = sorted(_WHERE)

__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
