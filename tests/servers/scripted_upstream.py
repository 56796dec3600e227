"""A scripted OpenAI-compatible upstream for fault tests: errors, slow answers and cut streams.

The behaviour is chosen by the model name in the request:
  ok          a normal streamed answer of 5 chunks ("one two three four five")
  status-N    answers HTTP N with an OpenAI-shaped error
  slow        waits 5 s before answering
  cut         streams 2 chunks, then drops the connection without a finish reason
  drip        streams 20 chunks 50 ms apart (for incremental and disconnect tests)
  echo        answers with the number of messages it received, their roles and the last one
``GET /test/count`` returns the number of chat requests received. Run as
``python -m tests.servers.scripted_upstream PORT``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

WORDS = ["one", " two", " three", " four", " five"]
counts = {"chat": 0, "completed": 0, "cancelled": 0}


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


async def chat(request: Request) -> Response:
    counts["chat"] += 1
    body = await request.json()
    model = body.get("model", "ok")
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
            " last=" + msgs[-1]["content"],
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
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="critical")
