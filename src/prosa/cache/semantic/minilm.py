"""all-MiniLM-L6-v2 sentence embeddings as a numpy forward pass over the bundled safetensors weights.

Why numpy and not torch or onnxruntime: the model is a 6-layer, 384-wide BERT (22M parameters), so
one question is ~0.1 GFLOP, a few milliseconds through numpy's BLAS; numpy is already installed
with the local model, while torch adds hundreds of MB and seconds of import time, and the weights
ship as safetensors (no ONNX graph to give onnxruntime). The safetensors file is mapped, not read:
loading takes milliseconds and only the word-embedding rows a question uses are paged in.

The pipeline is sentence-transformers' for this model: BERT, mean pooling over the tokens, L2
normalisation. ``tests/semantic`` checks the vectors against reference values from
sentence-transformers.
"""

from __future__ import annotations

import json
import os
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .wordpiece import WordPiece

MODEL_NAME = "all-MiniLM-L6-v2"
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
_POOLS: dict[tuple[str, int], tuple[int, ThreadPoolExecutor]] = {}
_POOLS_LOCK = threading.Lock()


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file, as read-only arrays over a memory map of the file."""
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header: dict[str, Any] = json.loads(f.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    out: dict[str, np.ndarray] = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        out[name] = data[start:end].view(_DTYPES[spec["dtype"]]).reshape(spec["shape"])
    return out


def worker_pool(name: str, workers: int = 1) -> ThreadPoolExecutor:
    """This process's pool of that name and size, made on first use (a pool's threads do not survive a
    fork). Keyed by size too: an ensemble of three members asks for two workers where one member asked
    for one, and must not get the one-worker pool."""
    with _POOLS_LOCK:
        known = _POOLS.get((name, workers))
        if known is None or known[0] != os.getpid():
            known = _POOLS[name, workers] = (os.getpid(), ThreadPoolExecutor(workers, f"prosa-{name}"))
        return known[1]


def _split(w: np.ndarray, x: np.ndarray, pool: ThreadPoolExecutor) -> np.ndarray:
    """``w @ x`` on two cores: the worker computes the lower half of the rows. A question's states are
    too narrow for OpenBLAS's own threads to pay (and they spin, see :class:`_OneBlasThread`); halving
    the rows took one embedding from ~10.5 to ~8.7 ms here (the handoff costs ~10 us a product)."""
    half = w.shape[0] // 2
    out = np.empty((w.shape[0], x.shape[1]), dtype=np.float32)
    lower = pool.submit(np.matmul, w[half:], x, out[half:])
    np.matmul(w[:half], x, out[:half])
    lower.result()
    return out


class Stopped(Exception):
    """A forward pass abandoned because its caller no longer needs it."""


class _OneBlasThread:
    """Run OpenBLAS on one thread while a question is embedded, then restore its setting.

    A question is a dozen tokens: threading a matrix that small gains nothing, and on a busy
    machine OpenBLAS's spinning threads made one embedding 100x slower (9 ms -> 1 s, measured on
    2 shared cores). Scoped, so the rest of the program keeps its own BLAS threads.
    """

    def __init__(self) -> None:
        self.get: Any = None
        self.set: Any = None
        try:
            import ctypes

            with open("/proc/self/maps") as f:  # Linux: the OpenBLAS numpy loaded, whatever its name
                paths = {
                    line.split()[-1] for line in f if "openblas" in line and line.rstrip().endswith(".so")
                }
            for path in paths:
                lib = ctypes.CDLL(path)
                for get, set_ in (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
                                  ("openblas_get_num_threads", "openblas_set_num_threads")):  # fmt: skip
                    if hasattr(lib, get) and hasattr(lib, set_):
                        self.get, self.set = getattr(lib, get), getattr(lib, set_)
                        return
        except (OSError, AttributeError):
            pass  # another platform or BLAS: leave threading as it is

    def limit(self) -> int:
        """Switch to one thread; return the setting to restore (0: nothing to restore)."""
        if self.get is None:
            return 0
        before: int = self.get()
        if before != 1:
            self.set(1)
        return before

    def restore(self, before: int) -> None:
        if self.set is not None and before not in (0, 1):
            self.set(before)


# erf to 1.5e-7 (Abramowitz & Stegun 7.1.26): numpy has none, and BERT's GELU is the erf one.
_ERF_P = np.float32(0.3275911)
_ERF_A = [np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)]
_ONE, _HALF, _SQRT_HALF = np.float32(1.0), np.float32(0.5), np.float32(0.7071067811865476)


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's (erf) GELU, ``x / 2 * (1 + erf(x / sqrt 2))``, in place: ``x`` is a temporary of the
    forward pass. Every step writes into one of two buffers: with a new array per step it took 2.5
    times as long (0.32 against 0.12 ms for a pair's 1536 x 24 states), for the same bits."""
    a = np.abs(x)
    a *= _SQRT_HALF  # |z|
    t = a * _ERF_P
    t += _ONE
    np.reciprocal(t, out=t)
    q = t * _ERF_A[0]
    for c in _ERF_A[1:]:  # Horner
        q += c
        q *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    q *= a  # 1 - erf(|z|)
    np.subtract(_ONE, q, out=q)
    np.copysign(q, x, out=q)  # erf(z)
    q += _ONE
    x *= _HALF
    x *= q
    return x


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the features, which are the rows here (axis 0), in place."""
    x -= x.mean(0, keepdims=True)
    scale = np.sqrt((x * x).mean(0, keepdims=True) + np.float32(eps))
    x /= scale
    x *= weight
    x += bias
    return x


class _Layer:
    """One encoder layer's weights as the forward pass uses them: matrices (out, in) for ``W @ x``,
    vectors as columns (out, 1)."""

    __slots__ = ("qkv_w", "qkv_b", "out_w", "out_b", "ln1_w", "ln1_b", "up_w", "up_b", "down_w", "down_b",
                 "ln2_w", "ln2_b")  # fmt: skip

    def __init__(self, t: dict[str, np.ndarray], p: str) -> None:
        a = f"{p}.attention"

        def column(name: str) -> np.ndarray:
            return np.asarray(t[name]).reshape(-1, 1)

        # Q, K and V in one matrix: one matmul instead of three.
        self.qkv_w = np.concatenate([t[f"{a}.self.{n}.weight"] for n in ("query", "key", "value")])
        self.qkv_b = np.concatenate([t[f"{a}.self.{n}.bias"] for n in ("query", "key", "value")]).reshape(
            -1, 1
        )
        self.out_w, self.out_b = np.asarray(t[f"{a}.output.dense.weight"]), column(f"{a}.output.dense.bias")
        self.ln1_w, self.ln1_b = column(f"{a}.output.LayerNorm.weight"), column(f"{a}.output.LayerNorm.bias")
        self.up_w, self.up_b = (
            np.asarray(t[f"{p}.intermediate.dense.weight"]),
            column(f"{p}.intermediate.dense.bias"),
        )
        self.down_w, self.down_b = np.asarray(t[f"{p}.output.dense.weight"]), column(f"{p}.output.dense.bias")
        self.ln2_w, self.ln2_b = column(f"{p}.output.LayerNorm.weight"), column(f"{p}.output.LayerNorm.bias")


def pack(layers: list[_Layer]) -> None:
    """Move the layers' dense weights into one buffer. Numpy asks Linux for huge pages for an array
    of 4 MB or more, and each layer's matrices are smaller: spread over 4 KB pages, the 42 MB a
    question reads miss the TLB. One buffer took an embedding from 9.0 to 8.4 ms and the pair model
    from 14.4 to 13.7 ms here; without transparent huge pages it changes nothing."""
    names = ("qkv_w", "out_w", "up_w", "down_w")
    buffer = np.empty(sum(getattr(layer, n).size for layer in layers for n in names), dtype=np.float32)
    start = 0
    for layer in layers:
        for name in names:
            w = getattr(layer, name)
            view = buffer[start : start + w.size].reshape(w.shape)
            view[...] = w
            setattr(layer, name, view)
            start += w.size


class MiniLM:
    """A BERT encoder with mean pooling: text in, unit-length float32 vectors out.

    Thread-safe: the weights are only read, every call works on its own arrays.
    """

    def __init__(self, model_dir: Path, max_length: int = 256) -> None:
        config = json.loads((model_dir / "config.json").read_text())
        self.heads: int = config["num_attention_heads"]
        self.dim: int = config["hidden_size"]
        self.eps: float = config["layer_norm_eps"]
        self.max_length = max_length
        self.tokenizer = WordPiece(model_dir / "vocab.txt")
        t = read_safetensors(model_dir / "model.safetensors")
        self.word = t[
            "embeddings.word_embeddings.weight"
        ]  # stays mapped: 47 MB, a few rows used per question
        self.position = np.asarray(t["embeddings.position_embeddings.weight"])
        self.token_types = np.asarray(
            t["embeddings.token_type_embeddings.weight"]
        )  # (2, dim): a pair's halves
        self.ln_w = np.asarray(t["embeddings.LayerNorm.weight"])
        self.ln_b = np.asarray(t["embeddings.LayerNorm.bias"])
        self.layers = [_Layer(t, f"encoder.layer.{i}") for i in range(config["num_hidden_layers"])]
        pack(self.layers)
        self._blas = _OneBlasThread()

    def count_tokens(self, text: str) -> int:
        return self.tokenizer.count(text)

    def embed(self, texts: list[str], batch: int = 32) -> np.ndarray:
        """(len(texts), dim) unit vectors. Texts of similar length are batched together (less padding)."""
        ids = [self.tokenizer.ids(text, self.max_length) for text in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        before = self._blas.limit()
        try:
            for start in range(0, len(order), batch):
                chosen = order[start : start + batch]
                out[chosen] = self._encode([ids[i] for i in chosen], worker_pool("embed"))
        finally:
            self._blas.restore(before)
        return out

    def _encode(self, batch: list[list[int]], pool: ThreadPoolExecutor | None = None) -> np.ndarray:
        x, mask = self._hidden(batch, pool=pool)
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)  # type: ignore[no-any-return]

    def _hidden(
        self,
        batch: list[list[int]],
        firsts: list[int] | None = None,
        stop: threading.Event | None = None,
        pool: ThreadPoolExecutor | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The last layer's token states (n, width, dim) and the padding mask (n, width).

        ``firsts``: for pairs of texts, how many ids each row's first text has (token type 0; the rest
        are type 1), as BERT reads a sentence pair. Without it every id is type 0.
        ``stop``: checked before each layer; once set, the pass is abandoned (raises :class:`Stopped`).
        ``pool``: a worker that computes half of each dense layer's rows (see :func:`_split`).
        """
        dense = np.matmul if pool is None else partial(_split, pool=pool)
        # Widths round up to a multiple of 8 (padding is masked): OpenBLAS's kernels take 8 tokens at a
        # time, and 16 tokens measured faster than 13 (0.21 vs 0.28 ms for one 1536x384 matmul).
        n, width = len(batch), -(-max(len(b) for b in batch) // 8) * 8
        ids = np.zeros((n, width), dtype=np.int64)
        mask = np.zeros((n, width), dtype=np.float32)
        for i, row in enumerate(batch):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1.0
        if firsts is None:
            type_rows = self.token_types[0]
        else:
            types = np.zeros((n, width), dtype=np.int64)
            for i, first in enumerate(firsts):
                types[i, first:] = 1
            type_rows = self.token_types[types]
        # The states are (features, tokens): each dense layer is one ``W @ x`` gemm with the weights as
        # stored, which runs ~30% faster than ``x @ W.T`` for a question's few tokens.
        x = np.ascontiguousarray(
            (self.word[ids] + self.position[:width] + type_rows).reshape(n * width, -1).T
        )
        x = _layer_norm(x, self.ln_w[:, None], self.ln_b[:, None], self.eps)
        # Padding positions get -1e4 before the softmax (BERT's own additive mask value).
        bias = ((1.0 - mask) * np.float32(-10000.0))[:, None, None, :]
        heads, size = self.heads, self.dim // self.heads
        scale = np.float32(1.0 / np.sqrt(size))
        for layer in self.layers:
            if stop is not None and stop.is_set():
                raise Stopped
            qkv = dense(layer.qkv_w, x)
            qkv += layer.qkv_b
            qkv = qkv.reshape(3, heads, size, n, width)
            q = qkv[0].transpose(2, 0, 3, 1) * scale  # (n, heads, width, size)
            scores = q @ qkv[1].transpose(2, 0, 1, 3) + bias  # keys (n, heads, size, width)
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            context = qkv[2].transpose(2, 0, 1, 3) @ scores.transpose(0, 1, 3, 2)  # (n, heads, size, width)
            y = dense(layer.out_w, context.transpose(1, 2, 0, 3).reshape(self.dim, n * width))
            y += layer.out_b
            y += x
            x = _layer_norm(y, layer.ln1_w, layer.ln1_b, self.eps)
            hidden = dense(layer.up_w, x)
            hidden += layer.up_b
            y = dense(layer.down_w, _gelu(hidden))
            y += layer.down_b
            y += x
            x = _layer_norm(y, layer.ln2_w, layer.ln2_b, self.eps)
        return x.T.reshape(n, width, self.dim), mask
