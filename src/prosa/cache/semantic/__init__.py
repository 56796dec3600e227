"""The semantic cache: serve a cached answer to a question that means the same as the one asked.

Opt in with ``Client(cache=..., semantic=True)`` or ``semantic=SemanticPolicy(threshold=...)``,
``--semantic`` on the command line, or ``[cache] semantic = true`` in the config file. The exact
cache is always asked first. A semantic hit is reported as ``Reply.cached == "semantic"`` with
``Reply.similarity`` and the verifier's ``Reply.semantic_score``.

Importing this package imports nothing heavy; numpy and the model load when semantic is on.
"""

from __future__ import annotations

from ..._lazy import lazy_exports

__all__ = [
    "DEFAULT_THRESHOLD",
    "Embedder",
    "MemoryVectorIndex",
    "MiniLMEmbedder",
    "OpenAIEmbedder",
    "PairModel",
    "SQLiteVectorIndex",
    "SemanticCache",
    "SemanticPolicy",
    "VectorIndex",
    "VERIFIED_THRESHOLD",
    "Verdict",
    "Verifier",
    "load_embedder",
    "veto",
]

_WHERE = {
    "DEFAULT_THRESHOLD": "policy",
    "VERIFIED_THRESHOLD": "policy",
    "SemanticPolicy": "policy",
    "fingerprint": "policy",
    "Embedder": "embed",
    "MiniLMEmbedder": "embed",
    "OpenAIEmbedder": "embed",
    "load_embedder": "embed",
    "VectorIndex": "index",
    "MemoryVectorIndex": "index",
    "SQLiteVectorIndex": "sqlite_index",
    "SemanticCache": "cache",
    "veto": "guards",
    "Verifier": "verify",
    "Verdict": "verify",
    "PairModel": "pairs",
}

__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
