"""Check an exported pair model under numpy against torch, then write it where prosa loads it.

``python train/export.py TRAINED.npz --data TRAIN.tsv ... [--meta '{"epochs": 2}']``: scores a few pairs with both
implementations (they must agree to 1e-4) and writes ``src/prosa/cache/semantic/pairs.npz``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit import encode  # noqa: E402
from model import PairNet  # noqa: E402

from prosa.cache.semantic.embed import minilm_dir  # noqa: E402
from prosa.cache.semantic.minilm import MiniLM  # noqa: E402
from prosa.cache.semantic.pairs import ADAPTERS, PairModel, pair_text  # noqa: E402

PAIRS = [
    ("What is the hottest planet?", "Which planet is the coldest?"),
    ("how do i reverse a list in python", "What's the way to reverse a Python list?"),
    ("Who wrote Hamlet?", "Hamlet was written by whom?"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("trained", nargs="+", help="one file, or several: an ensemble (their mean)")
    ap.add_argument("--meta", default="{}", help="JSON: how it was trained (epochs, seed, rank, ...)")
    ap.add_argument("--data", nargs="+", required=True, help="the training files (their SHA-256 is recorded)")
    ap.add_argument("--to", default=str(ADAPTERS))
    args = ap.parse_args()
    nets, arrays = [], {}
    for k, path in enumerate(args.trained):
        with np.load(path) as f:
            t = {name: f[name] for name in f.files if name != "meta"}
        nets.append(PairNet.from_arrays(minilm_dir(), t).eval())
        arrays.update({f"{k}/{name}": v for name, v in t.items()})
    from prosa.cache.semantic.wordpiece import WordPiece

    tok = WordPiece(minilm_dir() / "vocab.txt")
    reference = []
    for a, b in PAIRS:
        want = []
        for net in nets:
            a_, b_ = pair_text(a), pair_text(b)
            for x, y in ((min(a_, b_), max(a_, b_)),):  # the order prosa reads a pair in
                ids, types = encode(tok, x, y)
                with torch.no_grad():
                    logit = net(torch.tensor([ids]), torch.tensor([types]), torch.ones(1, len(ids)))
                want.append(float(torch.sigmoid(logit)[0]))
        reference.append([a, b, float(np.mean(want))])
    data = {Path(p).name: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in args.data}
    meta = {
        **json.loads(args.meta),
        "data": data,
        "reference": reference,
    }  # torch's scores: tests check numpy's against them
    np.savez_compressed(args.to, meta=np.array(json.dumps(meta)), **arrays)
    numpy_model = PairModel(MiniLM(minilm_dir()), Path(args.to))
    for a, b, want in reference:
        got = numpy_model.score(a, b)
        print(f"{want:.6f} (torch) {got:.6f} (numpy)  {a} | {b}")
        assert abs(want - got) < 1e-4, (want, got)
    print(f"wrote {args.to} ({Path(args.to).stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
