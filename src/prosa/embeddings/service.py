"""Embeddings answered from the cache input by input: only the inputs never seen go to the model.

A batch is looked up in one round trip (``Store.get_many``); the missing inputs are embedded in one
upstream call (or by the bundled MiniLM for ``model="local"``), stored in one transaction, and the
vectors come back in input order. Each cached vector is its own entry: float32 bytes after a short
JSON header (model, dimensions, tokens, the input's first characters, when it was stored).
"""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING, Any

from .._record import Record
from ..errors import CacheError, InvalidRequest, ProsaError
from .request import LOCAL_EMBED_NAMES, EmbedRequest

if TYPE_CHECKING:
    import numpy as np

    from ..cache.cache import ResponseCache
    from ..config import Settings

MAGIC = b"prosa-embedding-1\n"
DEFAULT_OPENAI_EMBED_MODEL = "text-embedding-3-small"


class Embeddings(Record):
    """The vectors of one request, in input order (float32 rows of ``array``; ``vectors`` as lists),
    the model that made them, the token usage, and how many came from the cache."""

    __slots__ = ("array", "model", "prompt_tokens", "cached", "latency_ms")

    def __init__(
        self, array: np.ndarray, model: str, prompt_tokens: int, cached: int, latency_ms: float
    ) -> None:
        self.array, self.model, self.prompt_tokens, self.cached = array, model, prompt_tokens, cached
        self.latency_ms = latency_ms

    @property
    def vectors(self) -> list[list[float]]:
        return self.array.tolist()  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return len(self.array)


def encode_vector(vector: np.ndarray, model: str, tokens: int, text: str) -> bytes:
    head = {"m": model, "d": int(vector.shape[0]), "t": tokens, "q": text[:200], "c": round(time.time(), 3)}
    return MAGIC + json.dumps(head, separators=(",", ":")).encode() + b"\n" + vector.astype("<f4").tobytes()


def decode_vector(raw: bytes) -> tuple[np.ndarray, dict[str, Any]] | None:
    """(vector, header) of a stored embedding, or None when ``raw`` is not one."""
    import numpy as np

    if not raw.startswith(MAGIC):
        return None
    end = raw.find(b"\n", len(MAGIC))
    try:
        head = json.loads(raw[len(MAGIC) : end])
        vector = np.frombuffer(raw, dtype="<f4", offset=end + 1)
    except ValueError:
        return None
    if end < 0 or not isinstance(head, dict) or vector.shape[0] != head.get("d"):
        return None
    return vector, head


class EmbeddingService:
    """The embeddings pipeline over one cache (or none) and the client's settings."""

    def __init__(self, cache: ResponseCache | None, settings: Settings) -> None:
        self.cache = cache
        self.settings = settings
        self._openai: Any = None

    def default_model(self) -> str:
        has_upstream = self.settings.openai_api_key or not self.settings.is_openai_host
        return DEFAULT_OPENAI_EMBED_MODEL if has_upstream else "local"

    def identity(self, model: str) -> str:
        if model.lower() in LOCAL_EMBED_NAMES:
            return "local-embed:all-MiniLM-L6-v2"
        return f"openai:{self.settings.base_url}"

    def embed(self, request: EmbedRequest, *, use_cache: bool = True, refresh: bool = False) -> Embeddings:
        """Every input's vector: from the cache where it is, else from the model (then stored)."""
        start = time.perf_counter()
        local = request.model == "local"
        model = request.model
        cache = self.cache if use_cache else None
        keys = request.keys(self.identity(model))
        found: list[tuple[np.ndarray, dict[str, Any]] | None] = [None] * len(keys)
        if cache is not None and not refresh:
            try:
                raws = cache.store.get_many(keys)
            except CacheError as e:
                cache.warn(e)
                raws = [None] * len(keys)
            found = [decode_vector(r) if r is not None else None for r in raws]
        missing = [i for i, f in enumerate(found) if f is None]
        cached = len(keys) - len(missing)
        saved = sum(int(f[1].get("t", 0)) for f in found if f is not None)
        if missing:
            items = [request.inputs[i] for i in missing]
            vectors, tokens, model_name = (self._local if local else self._upstream)(request, items)
            new = []
            for j, i in enumerate(missing):
                text = items[j] if isinstance(items[j], str) else json.dumps(items[j])[:200]
                found[i] = (vectors[j], {"m": model_name, "t": tokens[j]})
                new.append((keys[i], encode_vector(vectors[j], model_name, tokens[j], text)))
            if cache is not None:
                cache._safely(cache.store.put_many, new)
        if cache is not None:
            _count(cache, cached, len(missing), saved)
        import numpy as np

        rows = [f for f in found if f is not None]
        array = np.vstack([f[0] for f in rows])
        tokens = sum(int(f[1].get("t", 0)) for f in rows)
        return Embeddings(
            array, str(rows[0][1].get("m", model)), tokens, cached, (time.perf_counter() - start) * 1000
        )

    def _local(self, request: EmbedRequest, items: list[Any]) -> tuple[Any, list[int], str]:
        from ..cache.semantic.embed import load_embedder

        extra = sorted(set(request.params) - {"encoding_format", "user", "dimensions"})
        if extra:
            raise InvalidRequest(f"the local embedding model does not take {extra[0]!r}", extra[0])
        if any(not isinstance(i, str) for i in items):
            raise InvalidRequest("the local embedding model takes text, not token arrays", "input")
        embedder = load_embedder("minilm", self.settings)
        vectors = embedder.embed(items)
        dims = request.params.get("dimensions")
        if dims is not None and dims != vectors.shape[1]:
            raise InvalidRequest(
                f"the local embedding model makes {vectors.shape[1]}-dimensional vectors (dimensions={dims})",
                "dimensions",
            )
        return vectors, [embedder.count_tokens(t) for t in items], "all-MiniLM-L6-v2"

    def _upstream(self, request: EmbedRequest, items: list[Any]) -> tuple[Any, list[int], str]:
        import numpy as np

        from ..providers.openai import OpenAIProvider

        provider = self._openai or OpenAIProvider(self.settings)
        self._openai = provider
        try:
            answer = provider.client().post(
                "/embeddings", body={"model": request.model, "input": items, **request.upstream_params()},
                cast_to=object,
            )  # fmt: skip
        except Exception as e:  # noqa: BLE001 - one clear line
            raise provider.error(e) from None
        try:
            rows = sorted(answer["data"], key=lambda d: d["index"])
            vectors = [_vector(d["embedding"]) for d in rows]
            total = int((answer.get("usage") or {}).get("prompt_tokens") or 0)
            model_name = str(answer.get("model") or request.model)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ProsaError(
                f"the upstream's embeddings answer is malformed ({e}); check --upstream"
            ) from None
        if len(vectors) != len(items):
            raise ProsaError(f"the upstream answered {len(vectors)} embeddings for {len(items)} inputs")
        return np.vstack(vectors), _split_tokens(total, items), model_name


def _vector(value: Any) -> Any:
    import numpy as np

    if isinstance(value, str):
        return np.frombuffer(base64.b64decode(value), dtype="<f4")
    return np.asarray(value, dtype=np.float32)


def _split_tokens(total: int, items: list[Any]) -> list[int]:
    """The batch's token count shared out by each input's length (the upstream counts only the batch),
    so that the counts of cached inputs add up to what they cost."""
    sizes = [len(i) for i in items]
    whole = sum(sizes) or 1
    out = [total * s // whole for s in sizes]
    out[-1] += total - sum(out)
    return out


def _count(cache: ResponseCache, hits: int, misses: int, tokens_saved: int) -> None:
    deltas: dict[str, float] = {}
    if hits:
        deltas["hits"] = hits
        deltas["tokens_saved"] = tokens_saved
    if misses:
        deltas["misses"] = misses
    if deltas:
        cache._safely(cache.store.incr, deltas)
