"""Token counting and context windows: how much data a request can carry.

- The local model is counted with its own GGUF tokenizer (the llama object the local provider loads).
- OpenAI models are counted with tiktoken when it is installed *and* its BPE file can be loaded. tiktoken
  downloads that file on first use; offline (or when the download hangs) prosa falls back to
  :class:`EstimateTokenizer` and logs it once.
- Any other model (a model on an OpenAI-compatible server) is estimated.

:class:`ByteBound` is an exact upper bound for byte-level BPE tokenizers (every token is at least one
byte). Context building tries it first, so small data never loads llama.cpp or tiktoken at all.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any, Protocol

from ..config import read_config_file
from ..errors import ConfigError

log = logging.getLogger("prosa.grounding")

# Chat-format tokens around each message (role markers, separators), rounded up over the formats
# in use: OpenAI's is 3-4, ChatML's (SmolLM2) is 5.
PER_MESSAGE = 8
# Seconds to wait for tiktoken to load its BPE file before estimating instead.
TIKTOKEN_TIMEOUT = 3.0
DEFAULT_WINDOW = 8192

# Input context windows of OpenAI models, by name prefix; the longest matching prefix wins.
OPENAI_WINDOWS: dict[str, int] = {
    "gpt-5": 272_000,
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "chatgpt-4o": 128_000,
    "gpt-4-turbo": 128_000,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
    "o1": 200_000,
    "o3": 200_000,
    "o4": 200_000,
}


class Tokenizer(Protocol):
    name: str

    def count(self, text: str) -> int: ...


class ByteBound:
    """UTF-8 bytes: never fewer than the tokens of a byte-level BPE tokenizer, and free to compute."""

    name = "bytes"

    def count(self, text: str) -> int:
        return len(text.encode())


# Roughly the pieces GPT-style tokenizers split text into before merging: a word (with its leading
# space; long words cut every 8 letters), up to 3 digits, one punctuation mark, a run of spaces.
_PIECES = re.compile(r" ?[^\W\d_]{1,8}|\d{1,3}| ?[^\w\s]|\s+")


class EstimateTokenizer:
    """An estimate near, and usually above, what OpenAI's tokenizers count.

    One token per word piece, per 1-3 digits and per punctuation mark, plus one per two bytes of
    non-ASCII text (CJK is about a token per character). It over-counts English prose by ~20%, which
    only leaves some budget unused; it never needs a download.
    """

    name = "estimate"

    def count(self, text: str) -> int:
        extra = len(text.encode()) - len(text)
        return len(_PIECES.findall(text)) + extra // 2


class TiktokenTokenizer:
    name = "tiktoken"

    def __init__(self, encoding: Any) -> None:
        self.encoding = encoding
        self.name = f"tiktoken:{encoding.name}"

    def count(self, text: str) -> int:
        return len(self.encoding.encode(text, disallowed_special=()))


class GGUFTokenizer:
    """The local model's own tokenizer, from the llama object the local provider loads and shares."""

    name = "gguf"

    def __init__(self, provider: Any) -> None:
        self._provider = provider
        self._llm: Any = None

    def count(self, text: str) -> int:
        if self._llm is None:
            # The provider's loader is private; it is the one place the model is loaded and shared.
            self._llm = self._provider._llama()
        return len(self._llm.tokenize(text.encode(), add_bos=False, special=False))


_encodings: dict[str, Any] = {}
_encodings_lock = threading.Lock()


def _tiktoken_encoding(model: str) -> Any:
    """The tiktoken encoding for an OpenAI model, or None when tiktoken or its BPE file is unavailable."""
    try:
        import tiktoken
        import tiktoken.model
    except ImportError:
        return None
    try:
        name = tiktoken.model.encoding_name_for_model(model)
    except KeyError:
        name = "o200k_base"  # newer OpenAI models than this tiktoken knows use o200k
    with _encodings_lock:
        if name in _encodings:
            return _encodings[name]
        result: dict[str, Any] = {}

        def load() -> None:
            try:
                result["encoding"] = tiktoken.get_encoding(name)
            except Exception as e:  # noqa: BLE001 - any failure means "estimate instead"
                result["error"] = e

        # tiktoken fetches the BPE file with no timeout; a daemon thread bounds the wait.
        thread = threading.Thread(target=load, name="prosa-tiktoken", daemon=True)
        thread.start()
        thread.join(TIKTOKEN_TIMEOUT)
        encoding = result.get("encoding")
        if encoding is None:
            why = result.get("error") or f"no answer in {TIKTOKEN_TIMEOUT:g}s"
            log.info("tiktoken cannot load %s (%s); estimating token counts instead", name, why)
        _encodings[name] = encoding
        return encoding


def is_openai_model(model: str) -> bool:
    return _window_prefix(model) is not None


def _window_prefix(model: str) -> str | None:
    name = model.lower()
    best = None
    for prefix in OPENAI_WINDOWS:
        if name.startswith(prefix) and (best is None or len(prefix) > len(best)):
            best = prefix
    return best


def tokenizer_for(provider: Any, model: str) -> Tokenizer:
    """The most exact tokenizer available for this model, without loading anything not needed."""
    if provider.kind == "local":
        return GGUFTokenizer(provider)
    if is_openai_model(model):
        encoding = _tiktoken_encoding(model)
        if encoding is not None:
            return TiktokenTokenizer(encoding)
    return EstimateTokenizer()


def grounding_config() -> dict[str, Any]:
    """The ``[grounding]`` table of config.toml."""
    table = read_config_file().get("grounding") or {}
    if not isinstance(table, dict):
        raise ConfigError("config file: [grounding] must be a table")
    return table


def context_window(provider: Any, model: str, config: dict[str, Any] | None = None) -> int:
    """Tokens the model can take in: the local model's n_ctx; else config, the table above, or 8192.

    config.toml: ``[grounding] context_window = N`` (models not in the table),
    ``[grounding.context_windows] "my-model" = N``, and ``max_context_tokens = N`` to cap every model
    (data costs money on a paid API).
    """
    config = grounding_config() if config is None else config
    if provider.kind == "local":
        window = int(provider.n_ctx)
    else:
        per_model = config.get("context_windows") or {}
        prefix = _window_prefix(model)
        if model in per_model:
            window = _positive(per_model[model], f"grounding.context_windows.{model}")
        elif prefix is not None:
            window = OPENAI_WINDOWS[prefix]
        else:
            window = _positive(config.get("context_window", DEFAULT_WINDOW), "grounding.context_window")
    cap = config.get("max_context_tokens")
    if cap is not None:
        window = min(window, _positive(cap, "grounding.max_context_tokens"))
    return window


def _positive(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"config file: {where} must be a positive integer (got {value!r})")
    return value
