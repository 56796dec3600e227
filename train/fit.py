"""Train the pair model: ``python train/fit.py --out pairs.npz TRAIN.tsv ... [--val VAL.tsv ...]``.

Needs torch (``pip install torch==2.13.0`` in a separate environment) and prosa's source on the path
for the tokenizer. Each pair is learnt in both orders; the validation sets are only scored, never
learnt from, and the figure printed for them is the recall at zero false hits (the operating point
prosa needs) and at the first false hit. With ``--teacher pairs.npz`` each pair's target mixes its
label with that model's score (distillation: one member learns what an ensemble says).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth  # noqa: E402
from model import PairNet  # noqa: E402

from prosa.cache.semantic.embed import minilm_dir  # noqa: E402
from prosa.cache.semantic.pairs import pair_text  # noqa: E402
from prosa.cache.semantic.wordpiece import WordPiece  # noqa: E402

MAX = 64  # word pieces per question


def read(paths: list[str]) -> list[tuple[int, str, str, str]]:
    rows = []
    for path in paths:
        with open(path, encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f, delimiter="\t"):
                rows.append((int(r["label"]), r["category"], r["a"], r["b"]))
    return rows


def encode(tok: WordPiece, a: str, b: str) -> tuple[list[int], list[int]]:
    """The ids of "[CLS] a [SEP] b [SEP]" and their token types, each question read by ``pair_text``."""
    x, y = tok.ids(pair_text(a), MAX), tok.ids(pair_text(b), MAX)[1:]
    return x + y, [0] * len(x) + [1] * len(y)


def batches(items: list, size: int, shuffle: bool):
    order = sorted(
        range(len(items)), key=lambda i: len(items[i][0]) + (random.random() * 6 if shuffle else 0)
    )
    chunks = [order[i : i + size] for i in range(0, len(order), size)]
    if shuffle:
        random.shuffle(chunks)
    for chunk in chunks:
        width = max(len(items[i][0]) for i in chunk)
        ids = torch.zeros(len(chunk), width, dtype=torch.long)
        types = torch.zeros(len(chunk), width, dtype=torch.long)
        mask = torch.zeros(len(chunk), width)
        labels = torch.zeros(len(chunk))
        for j, i in enumerate(chunk):
            row, ty, label = items[i]
            ids[j, : len(row)] = torch.tensor(row)
            types[j, : len(row)] = torch.tensor(ty)
            mask[j, : len(row)] = 1.0
            labels[j] = label
        yield chunk, ids, types, mask, labels


def scores(net: PairNet, tok: WordPiece, rows: list) -> np.ndarray:
    """Each pair's probability, averaged over both orders."""
    items = []
    for label, _, a, b in rows:
        items.append((*encode(tok, a, b), label))
        items.append((*encode(tok, b, a), label))
    out = np.zeros(len(items))
    net.eval()
    with torch.no_grad():
        for chunk, ids, types, mask, _ in batches(items, 64, False):
            out[chunk] = torch.sigmoid(net(ids, types, mask)).numpy()
    return out.reshape(-1, 2).mean(1)


def teacher_scores(path: Path, rows: list) -> np.ndarray:
    """The shipped model's scores (prosa's numpy forward, each pair read as prosa reads it)."""
    from prosa.cache.semantic.minilm import MiniLM
    from prosa.cache.semantic.pairs import PairModel

    model = PairModel(MiniLM(minilm_dir()), path)
    pairs = [(a, b) for _, _, a, b in rows]
    return np.concatenate([model.scores(pairs[i : i + 64]) for i in range(0, len(pairs), 64)])


def report(name: str, rows: list, p: np.ndarray) -> str:
    labels = np.array([r[0] for r in rows])
    neg = p[labels == 0]
    top = neg.max() if len(neg) else 0.0
    clean = float((p[labels == 1] > top).mean())
    acc = float(((p >= 0.5) == labels).mean())
    fp50 = int(((p >= 0.5) & (labels == 0)).sum())
    return f"{name}: acc {acc:.3f}, false at 0.5: {fp50}, recall above the top near-miss ({top:.4f}): {clean:.3f}"


# Harmless words around a question, added to one side of half the pairs with --fillers. Without them
# the model learnt that any difference of style means a paraphrase: synth.py's surface paraphrases
# carry fillers and near-misses never did, so "hey, " in front of a near-miss made it score 0.999.
PREFIXES = ("hi, ", "hello! ", "quick question: ", "I was wondering, ", "do you know ", "please tell me ")
SUFFIXES = (", thanks", " thank you")


def filled(question: str) -> str:
    if random.random() < 0.75:
        return random.choice(PREFIXES) + question[:1].lower() + question[1:]
    return question.rstrip(" ?!.") + random.choice(SUFFIXES) + "?"


def surface(question: str) -> str:
    return synth.surface(question, random)  # type: ignore[arg-type]  # the module has Random's methods


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("train", nargs="+")
    ap.add_argument("--val", nargs="*", default=[])
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--neg-weight", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="train on this many pairs only (timing runs)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--teacher", help="a pairs.npz whose scores the model also learns (distillation)")
    ap.add_argument("--fillers", action="store_true", help="a filler on one side of half the pairs")
    ap.add_argument(
        "--surface", action="store_true", help="with --fillers: half of them synth.py's surface edits"
    )
    ap.add_argument("--teacher-weight", type=float, default=0.5, help="target = (1 - w) label + w teacher")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    tok = WordPiece(minilm_dir() / "vocab.txt")
    rows = read(args.train)
    if args.limit:
        random.shuffle(rows)
        rows = rows[: args.limit]
    targets = [float(r[0]) for r in rows]
    if args.teacher:
        taught = teacher_scores(Path(args.teacher), rows)
        w = args.teacher_weight
        targets = [float((1 - w) * t + w * s) for t, s in zip(targets, taught, strict=True)]
        labels = np.array([r[0] for r in rows])
        print(f"teacher {args.teacher}: mean score on paraphrases {taught[labels == 1].mean():.3f},"
              f" on near-misses {taught[labels == 0].mean():.3f}", flush=True)  # fmt: skip
    items = []
    for target, (_, _, a, b) in zip(targets, rows, strict=True):
        if args.fillers and random.random() < 0.5:  # whatever the label: style must not be a cue
            restyle = surface if args.surface and random.random() < 0.5 else filled
            if random.random() < 0.5:
                a = restyle(a)
            else:
                b = restyle(b)
        items.append((*encode(tok, a, b), target))
        items.append((*encode(tok, b, a), target))
    val = {path: read([path]) for path in args.val}
    net = PairNet(minilm_dir(), rank=args.rank)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    steps = args.epochs * ((len(items) + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.1)
    print(f"{len(rows)} pairs ({sum(r[0] for r in rows)} paraphrases), {steps} steps", flush=True)
    for epoch in range(args.epochs):
        net.train()
        start, total, seen = time.time(), 0.0, 0
        for _, ids, types, mask, labels in batches(items, args.batch, True):
            logits = net(ids, types, mask)
            weight = torch.where(labels < 0.5, args.neg_weight, 1.0)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, weight=weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(labels)
            seen += len(labels)
        print(
            f"epoch {epoch + 1}: loss {total / seen:.4f}, {seen / (time.time() - start):.0f} examples/s",
            flush=True,
        )
        for path, vrows in val.items():
            print("  " + report(Path(path).name, vrows, scores(net, tok, vrows)), flush=True)
    np.savez(args.out, **net.export())
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
