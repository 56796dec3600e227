"""What a larger base would cost the verifier: prosa's numpy encoder at other shapes, on random weights.

``python bench/base_shapes.py [--iterations 40]``

The pair model reads each candidate pair with one pass of a BERT encoder; the shipped base is
all-MiniLM-L6-v2 (6 layers of 384). This builds encoders of the shapes of larger bases (bge-small and
e5-small: 12 layers of 384; mpnet-base and bge-base: 12 of 768) with random weights, MiniLM's
vocabulary and prosa's own forward pass (``MiniLM``), and times one pass over a pair's word pieces.
It measures arithmetic only, not quality: no weights of those models are read. Prints the p50 and its
ratio to the shipped shape, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import struct
import tempfile
import time
from pathlib import Path

import numpy as np

from prosa.cache.semantic.embed import minilm_dir
from prosa.cache.semantic.minilm import MiniLM

SHAPES = {  # name -> (layers, width); 12 heads each, feed-forward 4 x width
    "MiniLM-L6 (shipped)": (6, 384),
    "bge-small / e5-small": (12, 384),
    "mpnet-base / bge-base": (12, 768),
}
PAIR = ("How many moons does Jupiter have?", "jupiter moon count")


def random_bert(path: Path, layers: int, dim: int, source: Path) -> Path:
    """A BERT directory of that shape with random weights, readable by :class:`MiniLM`."""
    path.mkdir(parents=True)
    config = json.loads((source / "config.json").read_text())
    config.update(
        hidden_size=dim, num_hidden_layers=layers, num_attention_heads=12, intermediate_size=4 * dim
    )
    (path / "config.json").write_text(json.dumps(config))
    shutil.copy(source / "vocab.txt", path / "vocab.txt")
    shapes = {
        "embeddings.word_embeddings.weight": (config["vocab_size"], dim),
        "embeddings.position_embeddings.weight": (512, dim),
        "embeddings.token_type_embeddings.weight": (2, dim),
        "embeddings.LayerNorm.weight": (dim,),
        "embeddings.LayerNorm.bias": (dim,),
    }
    for i in range(layers):
        p, a = f"encoder.layer.{i}", f"encoder.layer.{i}.attention"
        for name in ("self.query", "self.key", "self.value", "output.dense"):
            shapes |= {f"{a}.{name}.weight": (dim, dim), f"{a}.{name}.bias": (dim,)}
        shapes |= {f"{a}.output.LayerNorm.weight": (dim,), f"{a}.output.LayerNorm.bias": (dim,)}
        shapes |= {
            f"{p}.intermediate.dense.weight": (4 * dim, dim),
            f"{p}.intermediate.dense.bias": (4 * dim,),
        }
        shapes |= {f"{p}.output.dense.weight": (dim, 4 * dim), f"{p}.output.dense.bias": (dim,)}
        shapes |= {f"{p}.output.LayerNorm.weight": (dim,), f"{p}.output.LayerNorm.bias": (dim,)}
    rng = np.random.default_rng(0)
    header, blobs, offset = {}, [], 0
    for name, shape in shapes.items():
        blob = (rng.standard_normal(shape) * 0.02).astype(np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    head = json.dumps(header).encode()
    with open(path / "model.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head)
        for blob in blobs:
            f.write(blob)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=40)
    args = ap.parse_args()
    text = " ".join(PAIR)
    first = None
    with tempfile.TemporaryDirectory() as tmp:
        for name, (layers, dim) in SHAPES.items():
            model = MiniLM(random_bert(Path(tmp) / name.split()[0], layers, dim, minilm_dir()))
            for _ in range(3):
                model.embed([text])
            times = []
            for _ in range(args.iterations):
                start = time.perf_counter()
                model.embed([text])
                times.append((time.perf_counter() - start) * 1000)
            p50 = float(np.median(times))
            first = first or p50
            pieces = len(model.tokenizer.ids(text, 256))
            print(f"{name:<24} {layers:>2} layers of {dim}: one pass over {pieces} pieces, p50 {p50:6.2f} ms"
                  f" ({p50 / first:.1f}x the shipped shape)")  # fmt: skip


if __name__ == "__main__":
    main()
