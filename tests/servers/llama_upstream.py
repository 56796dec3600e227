"""A real OpenAI-compatible server for tests: llama-cpp-python's own server running the bundled model.

Run as ``python -m tests.servers.llama_upstream PORT [API_KEY]``. It adds one thing to the real
server: ``GET /test/count`` returns how many chat completion requests it has received, so tests can
prove a cache hit never reached the upstream.
"""

from __future__ import annotations

import sys

import uvicorn
from llama_cpp.server.app import create_app
from llama_cpp.server.settings import ModelSettings, ServerSettings
from starlette.requests import Request
from starlette.responses import JSONResponse

from prosa.providers.local import bundled_model_path

MODEL_ALIAS = "smol"


def main() -> None:
    port = int(sys.argv[1])
    api_key = sys.argv[2] if len(sys.argv) > 2 else None
    app = create_app(
        server_settings=ServerSettings(host="127.0.0.1", port=port, api_key=api_key),
        model_settings=[
            ModelSettings(
                model=str(bundled_model_path()),
                model_alias=MODEL_ALIAS,
                n_ctx=2048,
                n_threads=2,
                n_threads_batch=2,
                verbose=False,
            )
        ],
    )
    counts = {"chat": 0}

    @app.middleware("http")
    async def count(request: Request, call_next):  # type: ignore[no-untyped-def]
        if request.url.path == "/test/count":
            return JSONResponse(counts)
        if request.url.path.endswith("/chat/completions"):
            counts["chat"] += 1
        return await call_next(request)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
