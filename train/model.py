"""The pair model in torch, for training only: MiniLM (all-MiniLM-L6-v2's weights, frozen) read as a
cross-encoder, with low-rank adapters, its LayerNorms and token-type rows trained, and a linear head on
the mean of the last layer's states.

The forward pass is written to match ``prosa.cache.semantic.minilm.MiniLM._hidden`` operation for
operation, so the exported adapters give the same scores under numpy (``train/export.py`` checks it).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

TARGETS = ("qkv", "out", "up", "down")


def base_tensors(model_dir: Path) -> dict[str, np.ndarray]:
    from prosa.cache.semantic.minilm import read_safetensors

    return {
        k: np.array(v, dtype=np.float32) for k, v in read_safetensors(model_dir / "model.safetensors").items()
    }


class LoRA(nn.Module):
    """x @ W + b with W frozen, plus x @ A @ B (A: in x r, B: r x out, B starts at zero)."""

    def __init__(self, w: np.ndarray, b: np.ndarray, rank: int) -> None:
        super().__init__()
        self.register_buffer("w", torch.from_numpy(np.ascontiguousarray(w)))  # (in, out), for x @ w
        self.register_buffer("b", torch.from_numpy(np.ascontiguousarray(b)))
        self.a = nn.Parameter(torch.randn(w.shape[0], rank) / math.sqrt(w.shape[0]))
        self.bb = nn.Parameter(torch.zeros(rank, w.shape[1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.w + self.b + (x @ self.a) @ self.bb


class LayerNorm(nn.Module):
    def __init__(self, w: np.ndarray, b: np.ndarray) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.from_numpy(w.copy()))
        self.b = nn.Parameter(torch.from_numpy(b.copy()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(-1, keepdim=True)
        c = x - mean
        var = (c * c).mean(-1, keepdim=True)
        return c / torch.sqrt(var + 1e-12) * self.w + self.b


class Layer(nn.Module):
    def __init__(self, t: dict[str, np.ndarray], p: str, rank: int) -> None:
        super().__init__()
        a = f"{p}.attention"
        qkv_w = np.concatenate([t[f"{a}.self.{n}.weight"] for n in ("query", "key", "value")]).T
        qkv_b = np.concatenate([t[f"{a}.self.{n}.bias"] for n in ("query", "key", "value")])
        self.qkv = LoRA(qkv_w, qkv_b, rank)
        self.out = LoRA(t[f"{a}.output.dense.weight"].T, t[f"{a}.output.dense.bias"], rank)
        self.ln1 = LayerNorm(t[f"{a}.output.LayerNorm.weight"], t[f"{a}.output.LayerNorm.bias"])
        self.up = LoRA(t[f"{p}.intermediate.dense.weight"].T, t[f"{p}.intermediate.dense.bias"], rank)
        self.down = LoRA(t[f"{p}.output.dense.weight"].T, t[f"{p}.output.dense.bias"], rank)
        self.ln2 = LayerNorm(t[f"{p}.output.LayerNorm.weight"], t[f"{p}.output.LayerNorm.bias"])


class PairNet(nn.Module):
    def __init__(self, model_dir: Path, rank: int = 8, dropout: float = 0.1) -> None:
        super().__init__()
        t = base_tensors(model_dir)
        self.register_buffer("word", torch.from_numpy(t["embeddings.word_embeddings.weight"]))
        self.register_buffer("position", torch.from_numpy(t["embeddings.position_embeddings.weight"]))
        self.token_type = nn.Parameter(torch.from_numpy(t["embeddings.token_type_embeddings.weight"].copy()))
        self.ln = LayerNorm(t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
        self.layers = nn.ModuleList(Layer(t, f"encoder.layer.{i}", rank) for i in range(6))
        self.head = nn.Linear(384, 1)
        self.drop = nn.Dropout(dropout)
        self.heads = 12

    def forward(self, ids: torch.Tensor, types: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, width = ids.shape
        x = self.word[ids] + self.position[:width] + self.token_type[types]
        x = self.ln(x)
        bias = ((1.0 - mask) * -10000.0)[:, None, None, :]
        size = 384 // self.heads
        for layer in self.layers:
            qkv = layer.qkv(x).reshape(n, width, 3, self.heads, size)
            q = qkv[:, :, 0].transpose(1, 2) / math.sqrt(size)
            k = qkv[:, :, 1].permute(0, 2, 3, 1)
            v = qkv[:, :, 2].transpose(1, 2)
            scores = torch.softmax(q @ k + bias, -1)
            context = (scores @ v).transpose(1, 2).reshape(n, width, 384)
            x = layer.ln1(self.drop(layer.out(context)) + x)
            x = layer.ln2(self.drop(layer.down(F.gelu(layer.up(x)))) + x)
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True)
        return self.head(self.drop(pooled)).squeeze(-1)

    @classmethod
    def from_arrays(cls, model_dir: Path, t: dict[str, np.ndarray]) -> PairNet:
        """A net holding trained arrays ``t``, as :meth:`export` wrote them (its inverse)."""
        net = cls(model_dir, rank=t["0.qkv.a"].shape[1])
        assert set(net.export()) == set(t), set(net.export()) ^ set(t)
        with torch.no_grad():
            for name, param in net._trained().items():
                param.copy_(torch.from_numpy(t[name]).reshape(param.shape))
        return net

    def _trained(self) -> dict[str, torch.Tensor]:
        """Every trained tensor under the name :meth:`export` gives it."""
        out = {"token_type": self.token_type, "ln_w": self.ln.w, "ln_b": self.ln.b,
               "head_w": self.head.weight, "head_b": self.head.bias}  # fmt: skip
        for i, layer in enumerate(self.layers):
            for name in TARGETS:
                out[f"{i}.{name}.a"], out[f"{i}.{name}.b"] = getattr(layer, name).a, getattr(layer, name).bb
            for name in ("ln1", "ln2"):
                out[f"{i}.{name}_w"], out[f"{i}.{name}_b"] = getattr(layer, name).w, getattr(layer, name).b
        return out

    def export(self) -> dict[str, np.ndarray]:
        """The trained parameters as numpy arrays (the head's weight as a vector)."""
        out = {k: v.detach().numpy() for k, v in self._trained().items()}
        out["head_w"] = out["head_w"][0]
        return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}
