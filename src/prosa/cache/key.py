"""The cache key: SHA-256 over the provider's identity and the request's canonical form.

In the key: the key form's version, provider kind and base URL, model, every message in order with
every field it has, and every other request field (tools, tool_choice, n, logprobs, response_format,
unknown fields...) except those in ``prosa.params.UNKEYED`` (user, metadata, store...). Not in the
key: the stream flag and stream_options, timeouts, API keys, headers. So a streamed and a whole
answer share an entry, and no secret can ever be recovered from a key.

The request's scope (tenant and namespace, ``ChatRequest.scope``) follows the canonical form when it
is not empty: the same question in two scopes has two keys, and unscoped keys keep their old form.
Canonical JSON never holds a raw NUL, so the separator cannot be forged by a message.
"""

from __future__ import annotations

import hashlib

from ..request import KEY_VERSION, ChatRequest


def cache_key(identity: str, request: ChatRequest) -> str:
    h = hashlib.sha256(KEY_VERSION)
    h.update(b"\x00")
    h.update(identity.encode())
    h.update(b"\x00")
    h.update(request.canonical())
    if request.scope:
        h.update(b"\x00")
        h.update(request.scope.encode())
    return h.hexdigest()
