"""Stored responses: ``GET /v1/responses/{id}`` and ``previous_response_id``, kept in the cache's store.

Each stored response keeps its conversation (the chat messages it answered, less its instructions,
and its own answer), so a follow-up can continue it. It is kept under its id within the caller's
cache scope: another tenant finds nothing under the same id.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..cache.cache import ResponseCache

FORMAT = "resp1"


def _key(scope: str, response_id: str) -> str:
    """Where a response is kept: its id within its scope (a tenant reads only its own responses)."""
    name = f"{scope}\x00{response_id}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(b"prosa-response-1\x00" + name).hexdigest()


def save(
    cache: ResponseCache, scope: str, response: dict[str, Any], conversation: list[dict[str, Any]]
) -> None:
    doc = {"v": FORMAT, "response": response, "conversation": conversation}
    cache._safely(
        cache.store.put, _key(scope, response["id"]), json.dumps(doc, separators=(",", ":")).encode()
    )


def load(
    cache: ResponseCache, scope: str, response_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    raw = cache._safely(cache.store.get, _key(scope, response_id))
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
        if doc.get("v") != FORMAT:
            return None
        return doc["response"], doc["conversation"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
