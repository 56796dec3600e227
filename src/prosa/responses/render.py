"""Chat Completions chunks -> a Responses API answer: the stream of events, or the whole ``response``.

Both views come from the same chunk records (a fresh answer's, or a cached one's), through one
state machine: text deltas open a ``message`` item with an ``output_text`` part, tool-call
fragments open ``function_call`` items, a refusal a ``refusal`` part; the end closes each item and
sends ``response.completed`` (``response.incomplete`` when the answer was cut at the token limit).
The same chunks therefore give the same events, whatever ids each answer renews.
"""

from __future__ import annotations

import os
import time
from typing import Any

from ..completion import _copy


def new_id(prefix: str) -> str:
    return f"{prefix}_{os.urandom(16).hex()}"


class ResponseBuilder:
    """One response being written. ``feed`` each chunk's data, then ``finish``; each returns events."""

    def __init__(self, request: dict[str, Any], model: str, previous: str | None) -> None:
        self.id = new_id("resp")
        self.created = int(time.time())
        self.request = request
        self.model = model
        self.previous = previous
        self.items: list[dict[str, Any]] = []  # output items, in output_index order
        self.message: dict[str, Any] | None = None  # the open message item
        self.calls: dict[int, dict[str, Any]] = {}  # chat tool-call index -> function_call item
        self.reasoning = ""
        self.finish: str | None = None
        self.usage: dict[str, Any] | None = None
        self.sequence = 0
        self.started = False

    # -- events ------------------------------------------------------------------------------------
    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return event

    def start(self) -> list[dict[str, Any]]:
        self.started = True
        shell = self.response("in_progress")
        return [
            self._event("response.created", response=shell),
            self._event("response.in_progress", response=shell),
        ]

    def feed(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        events = [] if self.started else self.start()
        if data.get("usage"):
            self.usage = data["usage"]
        if data.get("model"):
            self.model = data["model"]
        for choice in data.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue  # the Responses API has one answer per request
            delta = choice.get("delta") or {}
            if delta.get("reasoning_content"):
                self.reasoning += delta["reasoning_content"]
            if delta.get("content"):
                events += self._text("output_text", delta["content"])
            if delta.get("refusal"):
                events += self._text("refusal", delta["refusal"])
            for call in delta.get("tool_calls") or ():
                events += self._call(call)
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]
        return events

    def _text(self, kind: str, text: str) -> list[dict[str, Any]]:
        events = []
        if self.message is None:
            self.message = {"id": new_id("msg"), "type": "message", "status": "in_progress", "role": "assistant",
                            "content": []}  # fmt: skip
            self.items.append(self.message)
            events.append(self._event("response.output_item.added", output_index=len(self.items) - 1,
                                      item=_copy(self.message)))  # fmt: skip
        content = self.message["content"]
        if not content or content[-1]["type"] != kind:
            part = (
                {"type": kind, "text": "", "annotations": []}
                if kind == "output_text"
                else {"type": kind, "refusal": ""}
            )
            content.append(part)
            events.append(self._event("response.content_part.added", **self._where(), part=_copy(part)))
        part = content[-1]
        field = "text" if kind == "output_text" else "refusal"
        part[field] += text
        name = "response.output_text.delta" if kind == "output_text" else "response.refusal.delta"
        extra = {"logprobs": []} if kind == "output_text" else {}
        events.append(self._event(name, **self._where(), delta=text, **extra))
        return events

    def _where(self) -> dict[str, Any]:
        assert self.message is not None
        return {"item_id": self.message["id"], "output_index": self.items.index(self.message),
                "content_index": len(self.message["content"]) - 1}  # fmt: skip

    def _call(self, fragment: dict[str, Any]) -> list[dict[str, Any]]:
        events = []
        index = fragment.get("index", 0)
        item = self.calls.get(index)
        function = fragment.get("function") or {}
        if item is None:
            item = {"id": new_id("fc"), "type": "function_call", "status": "in_progress", "arguments": "",
                    "call_id": fragment.get("id") or new_id("call"), "name": function.get("name") or ""}  # fmt: skip
            self.calls[index] = item
            self.items.append(item)
            events.append(
                self._event("response.output_item.added", output_index=len(self.items) - 1, item=_copy(item))
            )
        elif function.get("name") and not item["name"]:
            item["name"] = function["name"]
        piece = function.get("arguments") or ""
        if piece:
            item["arguments"] += piece
            events.append(self._event("response.function_call_arguments.delta", item_id=item["id"],
                                      output_index=self.items.index(item), delta=piece))  # fmt: skip
        return events

    def end(self) -> list[dict[str, Any]]:
        """Close every item, then the response."""
        events = [] if self.started else self.start()
        if self.reasoning:
            item = {"id": new_id("rs"), "type": "reasoning", "summary": [],
                    "content": [{"type": "reasoning_text", "text": self.reasoning}], "status": "completed"}  # fmt: skip
            self.items.append(item)
            # Added and done at once, last: the reasoning came as a chat field, with no Responses deltas.
            where = len(self.items) - 1
            events.append(self._event("response.output_item.added", output_index=where, item=_copy(item)))
            events.append(self._event("response.output_item.done", output_index=where, item=_copy(item)))
        for index, item in enumerate(self.items):
            if item["type"] == "message":
                for c, part in enumerate(item["content"]):
                    where = {"item_id": item["id"], "output_index": index, "content_index": c}
                    if part["type"] == "output_text":
                        events.append(
                            self._event("response.output_text.done", **where, text=part["text"], logprobs=[])
                        )
                    else:
                        events.append(self._event("response.refusal.done", **where, refusal=part["refusal"]))
                    events.append(self._event("response.content_part.done", **where, part=_copy(part)))
            elif item["type"] == "function_call":
                events.append(self._event("response.function_call_arguments.done", item_id=item["id"],
                                          output_index=index, name=item["name"], arguments=item["arguments"]))  # fmt: skip
            if item["type"] != "reasoning":
                item["status"] = "completed"
                events.append(self._event("response.output_item.done", output_index=index, item=_copy(item)))
        final = self.response()
        kind = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
        events.append(self._event(kind, response=final))
        return events

    # -- the response object -----------------------------------------------------------------------
    def response(self, status: str | None = None) -> dict[str, Any]:
        if status is None:
            status = "incomplete" if self.finish == "length" else "completed"
        r = self.request
        text_format = (r.get("text") or {}).get("format") or {"type": "text"}
        usage = self.usage or {}
        prompt_details = usage.get("prompt_tokens_details") or {}
        completion_details = usage.get("completion_tokens_details") or {}
        return {
            "id": self.id, "object": "response", "created_at": self.created, "status": status,
            "background": False, "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
            "instructions": r.get("instructions"), "max_output_tokens": r.get("max_output_tokens"),
            "metadata": r.get("metadata") or {}, "model": self.model,
            "output": [_copy(i) for i in self.items] if status != "in_progress" else [],
            "parallel_tool_calls": r.get("parallel_tool_calls", True), "previous_response_id": self.previous,
            "reasoning": {"effort": (r.get("reasoning") or {}).get("effort"), "summary": None},
            "store": r.get("store", True), "temperature": r.get("temperature"), "text": {"format": text_format},
            "tool_choice": r.get("tool_choice", "auto"), "tools": r.get("tools") or [], "top_p": r.get("top_p"),
            "truncation": "disabled", "user": r.get("user"),
            "usage": None if status == "in_progress" else {
                "input_tokens": usage.get("prompt_tokens", 0),
                "input_tokens_details": {"cached_tokens": prompt_details.get("cached_tokens", 0)},
                "output_tokens": usage.get("completion_tokens", 0),
                "output_tokens_details": {"reasoning_tokens": completion_details.get("reasoning_tokens", 0)},
                "total_tokens": usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0),
            },
        }  # fmt: skip

    def whole(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """The whole response for a recorded answer (the same state machine, its events unsent)."""
        for data in records:
            self.feed(data)
        self.end()
        return self.response()

    def assistant_turn(self) -> list[dict[str, Any]]:
        """What this answer adds to the conversation, as chat messages (for previous_response_id)."""
        text = "".join(p.get("text", "") for i in self.items if i["type"] == "message" for p in i["content"])
        calls = [{"id": i["call_id"], "type": "function", "function": {"name": i["name"], "arguments": i["arguments"]}}
                 for i in self.items if i["type"] == "function_call"]  # fmt: skip
        turn: dict[str, Any] = {"role": "assistant", "content": text or (None if calls else "")}
        if calls:
            turn["tool_calls"] = calls
        return [turn]
