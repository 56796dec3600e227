"""Embeddings answered from the cache input by input: only the inputs never seen go to the model.

A batch is looked up in one round trip (``Store.get_many``); the missing inputs are embedded in one
upstream call per 2,048 (or by the bundled MiniLM for ``model="local"``), stored in one transaction,
and the vectors come back in input order. Each cached vector is its own entry: a fixed binary
header (dimensions, tokens), a short JSON note (model, the input's first characters, when it was
stored) read only by tooling, then the float32 bytes. A hit never parses JSON nor copies a vector
before it is written out: base64 output encodes the stored bytes as they are.
"""

from __future__ import annotations

import base64
import json
import struct
import time
from typing import TYPE_CHECKING, Any

from .._record import Record
from ..errors import CacheError, InvalidRequest, ProsaError
from .request import UPSTREAM_BATCH, EmbedRequest

if TYPE_CHECKING:
    import numpy as np

    from ..cache.cache import ResponseCache
    from ..config import Settings

MAGIC = b"prosa-embedding-2\n"
_HEAD = struct.Struct("<IIH")  # dimensions, tokens, length of the JSON note that follows
_START = len(MAGIC) + _HEAD.size
DEFAULT_OPENAI_EMBED_MODEL = "text-embedding-3-small"


class Embeddings(Record):
    """The vectors of one request, in input order: ``blobs`` (each float32 little-endian bytes),
    ``array`` (an ``(n, dims)`` numpy array) or ``vectors`` (lists of floats); the model that made
    them, the token usage, and how many came from the cache."""

    __slots__ = ("blobs", "dims", "model", "prompt_tokens", "cached", "latency_ms")

    def __init__(
        self, blobs: list[Any], dims: int, model: str, prompt_tokens: int, cached: int, latency_ms: float
    ) -> None:
        self.blobs, self.dims, self.model, self.prompt_tokens = blobs, dims, model, prompt_tokens
        self.cached, self.latency_ms = cached, latency_ms

    @property
    def array(self) -> np.ndarray:
        import numpy as np

        return np.frombuffer(b"".join(self.blobs), dtype="<f4").reshape(len(self.blobs), self.dims)

    @property
    def vectors(self) -> list[list[float]]:
        return self.array.tolist()  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return len(self.blobs)


def encode_vector(vector: np.ndarray, model: str, tokens: int, text: str) -> bytes:
    note = json.dumps(
        {"m": model, "q": text[:200], "c": round(time.time(), 3)}, separators=(",", ":")
    ).encode()
    return MAGIC + _HEAD.pack(int(vector.shape[0]), tokens, len(note)) + note + vector.astype("<f4").tobytes()


def parse_vector(raw: bytes) -> tuple[memoryview, int, int, int] | None:
    """(the vector's bytes, dimensions, tokens, where the note starts) of a stored embedding, or None."""
    if not raw.startswith(MAGIC) or len(raw) < _START:
        return None
    dims, tokens, note = _HEAD.unpack_from(raw, len(MAGIC))
    start = _START + note
    if len(raw) - start != 4 * dims:
        return None
    return memoryview(raw)[start:], dims, tokens, _START


def read_note(raw: bytes) -> dict[str, Any]:
    """The JSON note of a stored embedding (model, question, created), for listing; {} if unreadable."""
    parsed = parse_vector(raw)
    if parsed is None:
        return {}
    dims, tokens, note = _HEAD.unpack_from(raw, len(MAGIC))
    try:
        out = json.loads(raw[_START : _START + note])
    except ValueError:
        return {}
    return {**out, "d": dims, "t": tokens} if isinstance(out, dict) else {}


class EmbeddingService:
    """The embeddings pipeline over one cache (or none) and the client's settings."""

    def __init__(self, cache: ResponseCache | None, settings: Settings) -> None:
        self.cache = cache
        self.settings = settings
        self._openai: Any = None

    def default_model(self) -> str:
        return DEFAULT_OPENAI_EMBED_MODEL if self.settings.has_upstream else "local"

    def identity(self, model: str) -> str:
        if model == "local":
            return "local-embed:all-MiniLM-L6-v2"
        return f"openai:{self.settings.base_url}"

    def embed(
        self, request: EmbedRequest, *, use_cache: bool = True, refresh: bool = False, scope: str = ""
    ) -> Embeddings:
        """Every input's vector: from the cache where it is (in ``scope``), else from the model (then stored)."""
        start = time.perf_counter()
        model = request.model
        cache = self.cache if use_cache else None
        keys = request.keys(self.identity(model), scope)
        n = len(keys)
        blobs: list[Any] = [None] * n
        tokens = [0] * n
        dims = 0
        model_name = ""
        raws: list[bytes | None] = [None] * n
        if cache is not None and not refresh:
            try:
                raws = cache.store.get_many(keys)
            except CacheError as e:
                cache.warn(e)
        for i, raw in enumerate(raws):
            parsed = parse_vector(raw) if raw is not None else None
            if parsed is not None and (not dims or parsed[1] == dims):
                blobs[i], dims, tokens[i] = parsed[0], parsed[1], parsed[2]
                if not model_name:
                    model_name = read_note(raw).get("m", "")  # type: ignore[arg-type]
        missing = [i for i in range(n) if blobs[i] is None]
        cached = n - len(missing)
        saved = sum(tokens)
        if missing:
            items = [request.inputs[i] for i in missing]
            vectors, counts, model_name = (self._local if model == "local" else self._upstream)(
                request, items
            )
            if dims and vectors.shape[1] != dims:  # the model changed size: ask again for every input
                return self.embed(request, use_cache=use_cache, refresh=True, scope=scope)
            dims = int(vectors.shape[1])
            new = []
            for j, i in enumerate(missing):
                blobs[i] = vectors[j].astype("<f4").tobytes()
                tokens[i] = counts[j]
                text = items[j] if isinstance(items[j], str) else json.dumps(items[j])
                new.append((keys[i], encode_vector(vectors[j], model_name, counts[j], text)))
            if cache is not None:
                cache._safely(cache.store.put_many, new)
        if cache is not None:
            _count(cache, cached, len(missing), saved)
        elapsed = (time.perf_counter() - start) * 1000
        return Embeddings(blobs, dims, model_name or model, sum(tokens), cached, elapsed)

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
        vectors: list[Any] = []
        tokens: list[int] = []
        model_name = request.model
        for start in range(0, len(items), UPSTREAM_BATCH):  # the API takes at most 2,048 inputs a call
            batch = items[start : start + UPSTREAM_BATCH]
            body = {"model": request.model, "input": batch, **request.upstream_params()}
            try:
                answer = provider.client().post("/embeddings", body=body, cast_to=object)
            except Exception as e:  # noqa: BLE001 - one clear line
                raise provider.error(e) from None
            try:
                rows = sorted(answer["data"], key=lambda d: d["index"])
                got = [_vector(d["embedding"]) for d in rows]
                total = int((answer.get("usage") or {}).get("prompt_tokens") or 0)
                model_name = str(answer.get("model") or request.model)
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                raise ProsaError(
                    f"the upstream's embeddings answer is malformed ({e}); check --upstream"
                ) from None
            if len(got) != len(batch):
                raise ProsaError(f"the upstream answered {len(got)} embeddings for {len(batch)} inputs")
            vectors += got
            tokens += _split_tokens(total, batch)
        return np.vstack(vectors), tokens, model_name


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
