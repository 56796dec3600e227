"""A scripted OpenAI-compatible upstream for fault tests: errors, slow answers and cut streams.

The behaviour is chosen by the model name in the request:
  ok          a normal streamed answer of 5 chunks ("one two three four five")
  status-N    answers HTTP N with an OpenAI-shaped error
  slow        waits 5 s before answering
  cut         streams 2 chunks, then drops the connection without a finish reason
  drip        streams 20 chunks 50 ms apart (for incremental and disconnect tests)
  echo        answers with the number of messages it received, their roles and the last one
  replay:NAME streams tests/data/streams/NAME.sse byte for byte (a recorded upstream stream); its
              chunks' ids are kept, so a test can tell what prosa renewed
  agent       a tool-calling model: with tools and no tool result yet, it calls the first tool with
              {"query": <last user text>} (arguments streamed in two fragments); after tool results,
              it answers "Tool said: <the results, joined by ' | '>"
``GET /test/count`` returns the number of chat requests received; ``GET /test/last`` the last
request body, exactly as received (for forwarding tests). Run as
``python -m tests.servers.scripted_upstream PORT``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

WORDS = ["one", " two", " three", " four", " five"]
counts = {"chat": 0, "completed": 0, "cancelled": 0}
last_body: dict[str, object] = {}
STREAMS = Path(__file__).resolve().parent.parent / "data" / "streams"


def _event(model: str, content: str | None, finish: str | None = None) -> bytes:
    delta = {} if content is None else {"content": content}
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


def _text(content: object) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def _frame(data: dict) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


def _agent(body: dict) -> list[bytes]:
    """The SSE frames of the scripted tool-calling model's answer to ``body``."""
    head = {
        "id": "chatcmpl-agent",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "agent",
    }
    msgs = body.get("messages", [])
    results = [_text(m.get("content")) for m in msgs if m.get("role") == "tool"]
    tools = body.get("tools") or []
    frames = [_frame({**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": None},
                                           "finish_reason": None}]})]  # fmt: skip
    if tools and not results and body.get("tool_choice") != "none":
        name = tools[0]["function"]["name"]
        question = next((_text(m.get("content")) for m in reversed(msgs) if m.get("role") == "user"), "")
        args = json.dumps({"query": question})
        half = len(args) // 2
        calls = [{"index": 0, "id": "call_1", "type": "function", "function": {"name": name, "arguments": args[:half]}},
                 {"index": 0, "function": {"arguments": args[half:]}}]  # fmt: skip
        for call in calls:
            frames.append(
                _frame(
                    {
                        **head,
                        "choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}],
                    }
                )
            )
        finish = "tool_calls"
    else:
        text = "Tool said: " + " | ".join(results) if results else "No tools needed."
        frames.append(
            _frame({**head, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})
        )
        finish = "stop"
    frames.append(_frame({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}))
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        frames.append(_frame({**head, "choices": [], "usage": usage}))
    return [*frames, b"data: [DONE]\n\n"]


async def last(request: Request) -> Response:
    # ASCII JSON: a body may hold a lone surrogate (valid JSON, not encodable as UTF-8).
    return Response(json.dumps(last_body), media_type="application/json")


async def chat(request: Request) -> Response:
    counts["chat"] += 1
    body = await request.json()
    last_body.clear()
    last_body.update(body)
    model = body.get("model", "ok")
    if model.startswith("replay:") or model == "agent":
        if model == "agent":
            frames = _agent(body)
        else:
            frames = [(STREAMS / f"{model[7:]}.sse").read_bytes()]

        async def play():  # type: ignore[no-untyped-def]
            for frame in frames:
                yield frame
            counts["completed"] += 1

        return StreamingResponse(play(), media_type="text/event-stream")
    if model.startswith("status-"):
        status = int(model.split("-")[1])
        return JSONResponse(
            {"error": {"message": f"scripted failure {status}", "type": "test", "param": None, "code": None}},
            status_code=status,
        )
    if model == "slow":
        await asyncio.sleep(5)
    words = WORDS if model != "drip" else [f" w{i}" for i in range(20)]
    if model == "echo":
        msgs = body.get("messages", [])
        words = [
            f"messages={len(msgs)}",
            " roles=" + ",".join(m["role"] for m in msgs),
            " last=" + _text(msgs[-1].get("content")),
        ]
    delay = 0.05 if model == "drip" else 0.0

    async def gen():  # type: ignore[no-untyped-def]
        try:
            for i, word in enumerate(words):
                if model == "cut" and i == 2:
                    raise RuntimeError("scripted cut")  # uvicorn drops the connection mid-body
                yield _event(model, word)
                if delay:
                    await asyncio.sleep(delay)
            yield _event(model, None, "stop")
            if (body.get("stream_options") or {}).get("include_usage"):
                usage = {"prompt_tokens": 3, "completion_tokens": len(words), "total_tokens": 3 + len(words)}
                tail = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()),
                        "model": model, "choices": [], "usage": usage}  # fmt: skip
                yield f"data: {json.dumps(tail)}\n\n".encode()
            yield b"data: [DONE]\n\n"
            counts["completed"] += 1
        except asyncio.CancelledError:
            counts["cancelled"] += 1
            raise

    if body.get("stream"):
        return StreamingResponse(gen(), media_type="text/event-stream")
    return JSONResponse(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(words)},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": len(words), "total_tokens": 3 + len(words)},
        }
    )


async def models(request: Request) -> Response:
    return JSONResponse({"object": "list", "data": [{"id": "ok", "object": "model", "owned_by": "test"}]})


async def count(request: Request) -> Response:
    return JSONResponse(counts)


app = Starlette(
    routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/models", models),
        Route("/test/count", count),
        Route("/test/last", last),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="critical")
