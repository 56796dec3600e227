"""Helpers of the replay-fidelity tests: recorded streams, SSE events as sent, the openai SDK's view of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import openai

STREAMS = Path(__file__).resolve().parent.parent / "data" / "streams"
# Each answer renews these; everything else in a chunk is the upstream's and must come back as sent.
RENEWED = ("id", "created")


def recording(name: str) -> list[dict[str, Any]]:
    """The JSON events of tests/data/streams/NAME.sse, in order (the final [DONE] checked, not returned)."""
    lines = (STREAMS / f"{name}.sse").read_text().split("\n\n")
    assert lines[-2:] == ["data: [DONE]", ""], f"{name}.sse must end with data: [DONE]"
    return [json.loads(line[6:]) for line in lines[:-2]]


def without_renewed(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k not in RENEWED} for e in events]


def as_sent_to(events: list[dict[str, Any]], include_usage: bool) -> list[dict[str, Any]]:
    """What OpenAI sends a client for these upstream events: without include_usage, no usage chunk
    and no ``usage`` field in the others (prosa always asks the upstream for it)."""
    if include_usage:
        return events
    return [
        {k: v for k, v in e.items() if k != "usage"}
        for e in events
        if not (e.get("choices") == [] and e.get("usage") is not None)
    ]


def sse(response: httpx.Response) -> list[dict[str, Any]]:
    """The JSON events of an SSE body, checking the framing: data lines, blank separators, a final [DONE]."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = response.text.split("\n\n")
    assert frames[-2:] == ["data: [DONE]", ""], response.text[-300:]
    events = []
    for frame in frames[:-2]:
        assert frame.startswith("data: {"), frame
        events.append(json.loads(frame[6:]))
    ids = {e["id"] for e in events}
    assert len(ids) == 1, f"one answer, one id: {ids}"
    assert len({e["created"] for e in events}) == 1
    assert all(e["object"] == "chat.completion.chunk" for e in events)
    return events


def post(url: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(url, json=body, timeout=30)


def ordered(value: Any) -> Any:
    """A value with every object's key order made visible (lists of [key, value] pairs)."""
    if isinstance(value, dict):
        return [[k, ordered(v)] for k, v in value.items()]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value


_SDK_ONLY = frozenset({"parsed", "parsed_arguments"})  # what the SDK's parsing helpers add


def sdk_view(completion: Any) -> dict[str, Any]:
    """An openai SDK completion object as plain data, comparable across create() and stream():
    without id/created and without the fields only the SDK's own helpers add."""

    def clean(value: Any, in_calls: bool = False) -> Any:
        if isinstance(value, dict):
            return {
                k: clean(v, k == "tool_calls")
                for k, v in value.items()
                if k not in _SDK_ONLY and not (in_calls and k == "index")
            }
        if isinstance(value, list):
            return [clean(v, in_calls) for v in value]
        return value

    data = completion.model_dump(mode="json")
    return {k: v for k, v in clean(data).items() if k not in RENEWED}


def sdk_final(client: openai.OpenAI, **kwargs: Any) -> Any:
    """The SDK's own accumulation of a streamed answer (``chat.completions.stream``)."""
    with client.chat.completions.stream(**kwargs) as stream:
        for _ in stream:
            pass
        return stream.get_final_completion()
