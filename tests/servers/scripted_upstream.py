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
              {"query": <last user text>} (arguments streamed in two fragments; a tool whose schema
              requires parameters gets {<first required>: <last word of the question>}); after tool results,
              it answers "Tool said: <the results, joined by ' | '>"
``POST /v1/embeddings`` answers deterministic 8-dimensional vectors (counted as "embeddings").
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
        function = tools[0]["function"]
        question = next((_text(m.get("content")) for m in reversed(msgs) if m.get("role") == "user"), "")
        # The tool's first required parameter (else "query") gets the last word of the question.
        param = ((function.get("parameters") or {}).get("required") or ["query"])[0]
        value = question if param == "query" else question.rstrip("?.! ").split()[-1]
        args = json.dumps({param: value})
        name = function["name"]
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


async def embeddings(request: Request) -> Response:
    """Deterministic 8-dimensional vectors from each input's hash (``dimensions`` shortens them)."""
    import base64
    import hashlib
    import struct

    counts["embeddings"] = counts.get("embeddings", 0) + 1
    body = await request.json()
    last_body.clear()
    last_body.update(body)
    if body.get("model", "").startswith("status-"):
        status = int(body["model"].split("-")[1])
        return JSONResponse(
            {"error": {"message": f"scripted failure {status}", "type": "test"}}, status_code=status
        )
    inputs = (
        body["input"]
        if isinstance(body["input"], list) and not isinstance(body["input"][0], int)
        else [body["input"]]
    )
    dims = body.get("dimensions") or 8
    data, tokens = [], 0
    for i, item in enumerate(inputs):
        digest = hashlib.sha256(json.dumps(item).encode()).digest()
        vector = [(digest[j % 32] - 128 + j // 32) / 128 for j in range(dims)]
        tokens += len(item) if isinstance(item, list) else len(item.split())
        if body.get("encoding_format") == "base64":
            value = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
        else:
            value = vector
        data.append({"object": "embedding", "index": i, "embedding": value})
    return JSONResponse({"object": "list", "data": data, "model": body["model"] + "-v1",
                         "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})  # fmt: skip


async def responses(request: Request) -> Response:
    """A Responses API upstream (for pass-through): streams tests/data/streams/responses_text.sse, or
    answers its final response whole; GET /v1/responses/{id} returns that response."""
    counts["responses"] = counts.get("responses", 0) + 1
    body = await request.json()
    last_body.clear()
    last_body.update(body)
    frames = (STREAMS / "responses_text.sse").read_bytes()
    if body.get("stream"):
        return Response(frames, media_type="text/event-stream")
    final = json.loads(frames.rstrip().split(b"\n")[-1][len(b"data: ") :])["response"]
    return JSONResponse(final)


async def stored_response(request: Request) -> Response:
    frames = (STREAMS / "responses_text.sse").read_bytes()
    final = json.loads(frames.rstrip().split(b"\n")[-1][len(b"data: ") :])["response"]
    if request.path_params["id"] != final["id"]:
        return JSONResponse(
            {"error": {"message": "no such response", "type": "invalid_request_error"}}, status_code=404
        )
    return JSONResponse(final)


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
        Route("/v1/embeddings", embeddings, methods=["POST"]),
        Route("/v1/responses", responses, methods=["POST"]),
        Route("/v1/responses/{id}", stored_response),
        Route("/test/count", count),
        Route("/test/last", last),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="critical")
