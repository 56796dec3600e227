"""Semantic hits stay inside their scope (issue 13): a paraphrase is never matched across namespaces."""

from __future__ import annotations

from prosa import Client
from prosa.cache import MemoryStore


def scripted(upstream, cache, **kw):
    return Client(base_url=upstream.base_url, api_key="sk-k", max_retries=0, cache=cache, **kw)


def test_semantic_hits_never_cross_namespaces(scripted_upstream, minilm):
    store = MemoryStore()
    a = scripted(scripted_upstream, store, semantic=True, namespace="a")
    b = scripted(scripted_upstream, store, semantic=True, namespace="b")
    a.chat("What is the capital of France?", model="echo", temperature=0)
    assert a.chat("Which city is the capital of France?", model="echo", temperature=0).cached == "semantic"
    assert b.chat("Which city is the capital of France?", model="echo", temperature=0).cached is False
