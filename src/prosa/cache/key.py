"""The cache key: SHA-256 over the provider's identity and the request's canonical form.

In the key: provider kind and base URL, model, every message in order, and every parameter that can
change the output (temperature, max_tokens, top_p, stop, seed, penalties, response_format, tools).
Not in the key: the stream flag, timeouts, API keys, headers. So a streamed and a whole answer share
an entry, and no secret can ever be recovered from a key.
"""

from __future__ import annotations

import hashlib

from ..request import ChatRequest


def cache_key(identity: str, request: ChatRequest) -> str:
    h = hashlib.sha256(identity.encode())
    h.update(b"\x00")
    h.update(request.canonical())
    return h.hexdigest()
