"""Validated chat requests remembered by their exact body, so a repeat (which is what a cache hit is)
skips JSON decoding and validation: it was validated the first time, with the same rules."""

from __future__ import annotations

from ..request import Call
from .openai_json import ChatArgs

MEMO_SIZE = 4096  # validated requests remembered by their exact body...
MEMO_BODY = 8192  # ...when the body is at most this long...
MEMO_BYTES = 4_000_000  # ...and while all remembered bodies add up to at most this

# (caller tag, cache scope, body): the scope is not in the body, so it is in the key.
MemoKey = tuple[str, str, bytes]


class RequestMemo:
    """A bounded map from (caller, scope, body) to its validated request; the oldest go first."""

    def __init__(self) -> None:
        self._calls: dict[MemoKey, tuple[ChatArgs, Call]] = {}
        self._bytes = 0
        # The dict's own get, bound once: a memo hit costs no extra Python call on the hot path.
        self.get = self._calls.get

    def put(self, key: MemoKey, args: ChatArgs, call: Call) -> None:
        calls = self._calls
        self._bytes += len(key[2])
        while calls and (len(calls) >= MEMO_SIZE or self._bytes > MEMO_BYTES):
            oldest = next(iter(calls))  # dicts keep insertion order
            del calls[oldest]
            self._bytes -= len(oldest[2])
        calls[key] = (args, call)
