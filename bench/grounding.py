"""Grounding at scale, one run: ingest throughput, peak memory and retrieval latency at 1M rows.

- A ~100 MB CSV of N rows (default 1,000,000) is made in a temporary directory.
- Floors measured alongside: csv.reader reading the file (the least any CSV ingest must do), and a
  bare FTS5 bulk insert of the same rows straight from csv.reader (no labels, no hashing, no checks).
- `KnowledgeBase.add` in a fresh process: rows/s, MB/s, and its peak RSS against an idle process
  that imported the same modules. Target: peak RSS grows by far less than the file (bounded memory).
- Re-adding the unchanged file (content hash, skipped).
- Retrieval at N rows: `KnowledgeBase.search` for one product by name, a question whose words are in
  a quarter of all rows, and `ground()` with the knowledge base (what `prosa ask --kb` does before it
  calls a model). Peer: a linear scan of the CSV for the same name (what grep would do).
- Ad hoc `--data` of a 10,000-row CSV that does not fit: the throwaway index, ranked, per question.

Run: python bench/grounding.py [--rows N]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import PYTHON, pct, row  # noqa: E402

WORDS = (
    "alpha bravo cobalt delta ember falcon garnet harbor indigo jasper krypton lumen magnet nimbus "
    "onyx pepper quartz raven sierra timber umber velvet willow xenon yonder zephyr"
).split()
CATEGORIES = ("tools", "garden", "kitchen", "toys")

INGEST = """
import json, resource, sys, time
from prosa.grounding.kb import KnowledgeBase
kb = KnowledgeBase(sys.argv[1])
start = time.perf_counter()
result = kb.add([sys.argv[2]])
took = time.perf_counter() - start
print(json.dumps({"seconds": took, "pieces": result.pieces, "bytes": result.bytes,
                  "unchanged": len(result.unchanged),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
IDLE = """
import resource
from prosa.grounding.kb import KnowledgeBase
from prosa.grounding import sources, readers, retrieval
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def make_csv(path: Path, rows: int) -> None:
    rnd = random.Random(7)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("id,sku,name,category,price,stock,description\n")
        for i in range(1, rows + 1):
            a, b, c, d = rnd.sample(WORDS, 4)
            f.write(
                f"{i},SKU{i:07d},{a.title()} {b.title()} P{i},{CATEGORIES[i % 4]},"
                f"{rnd.randint(100, 99999) / 100},{rnd.randint(0, 500)},A sturdy {c} {d} item for everyday use\n"
            )


def run_json(code: str, *args: str, env: dict[str, str]) -> dict:
    import json

    out = subprocess.run([PYTHON, "-c", code, *args], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def csv_floor(path: Path) -> float:
    import csv

    start = time.perf_counter()
    with open(path, encoding="utf-8", newline="") as f:
        for _ in csv.reader(f):
            pass
    return time.perf_counter() - start


def fts_floor(path: Path, db: Path) -> float:
    import csv

    from prosa.grounding.retrieval import create_fts

    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    create_fts(conn)
    start = time.perf_counter()
    with open(path, encoding="utf-8", newline="") as f, conn:
        reader = csv.reader(f)
        next(reader)
        conn.executemany(
            "INSERT INTO chunks (text, label, grp) VALUES (?, '', '')", ((",".join(r),) for r in reader)
        )
    took = time.perf_counter() - start
    conn.close()
    return took


def latencies(fn, questions: list[str]) -> list[float]:
    out = []
    for q in questions:
        t = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="prosa-bench-grounding-"))
    env = {**os.environ, "PROSA_DATA_DIR": str(tmp / "data"), "PROSA_CONFIG_DIR": str(tmp / "config")}
    os.environ.update({k: env[k] for k in ("PROSA_DATA_DIR", "PROSA_CONFIG_DIR")})
    csv_path = tmp / "products.csv"
    print(f"making a CSV of {args.rows:,} rows in {tmp} ...", flush=True)
    make_csv(csv_path, args.rows)
    mb = csv_path.stat().st_size / 1e6
    print(f"grounding benchmark: {args.rows:,} rows, {mb:.1f} MB, Python {sys.version.split()[0]}, "
          f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} cores (shared)")  # fmt: skip

    print("ingest")
    floor_read = csv_floor(csv_path)
    row("floor: csv.reader reads the file", mb / floor_read, "MB/s")
    floor_fts = fts_floor(csv_path, tmp / "floor.db")
    row("floor: bare FTS5 insert from csv.reader", args.rows / floor_fts, "rows/s")
    result = run_json(INGEST, "bench", str(csv_path), env=env)
    rate = result["pieces"] / result["seconds"]
    row("prosa kb add (labels, checks, hash)", rate, "rows/s", rate / (args.rows / floor_fts), "of bare FTS5")
    row("prosa kb add", result["bytes"] / 1e6 / result["seconds"], "MB/s")
    idle = float(
        subprocess.run([PYTHON, "-c", IDLE], capture_output=True, text=True, env=env, check=True).stdout
    )
    row("peak RSS while ingesting", result["rss_mb"], "MB", result["rss_mb"] / mb, "of the file size")
    row("peak RSS above an idle process", result["rss_mb"] - idle, "MB", None, "", f"(idle: {idle:.0f} MB)")
    again = run_json(INGEST, "bench", str(csv_path), env=env)
    row(
        "re-add unchanged (hash, skip)",
        again["seconds"] * 1000,
        "ms",
        None,
        "",
        f"unchanged={again['unchanged']}",
    )
    db_mb = sum(p.stat().st_size for p in (tmp / "data" / "kb").glob("bench.db*")) / 1e6
    row("index size on disk", db_mb, "MB", db_mb / mb, "of the CSV")

    print(f"retrieval at {args.rows:,} rows")
    from prosa import Client
    from prosa.grounding import KnowledgeBase, ground

    kb = KnowledgeBase("bench")
    rnd = random.Random(1)
    ids = [rnd.randint(1, args.rows) for _ in range(40)]
    named = [f"What does product P{i} cost and how many are in stock?" for i in ids]
    kb.search(named[0])  # warm the page cache once
    times = latencies(lambda q: kb.search(q, 10), named)
    row("kb search, one product by name: p50", pct(times, 50), "ms")
    row("kb search, one product by name: p95", pct(times, 95), "ms")
    found = sum(kb.search(q, 1)[0].piece.text.startswith(f"{i},") for q, i in zip(named, ids, strict=True))
    row("kb search, the product's row ranked first", 100 * found / len(ids), "%")
    broad = [f"{rnd.choice(CATEGORIES)} {rnd.choice(WORDS)}" for _ in range(10)]
    times = latencies(lambda q: kb.search(q, 10), broad)
    row("kb search, common words (1/4 of rows match): p50", pct(times, 50), "ms")
    client = Client(model="gpt-4o-mini", cache=None)
    times = latencies(lambda q: ground(client, q, None, {"max_tokens": 300}, data=[kb]), broad[:5])
    row("ground() with --kb, common words: p50", pct(times, 50), "ms")
    times = latencies(lambda q: ground(client, q, None, {"max_tokens": 300}, data=[kb]), named[:20])
    row("ground() with --kb, gpt-4o-mini budget: p50", pct(times, 50), "ms")
    start = time.perf_counter()
    needle = f",P{ids[0]},"
    with open(csv_path, encoding="utf-8") as f:
        next((line for line in f if needle in line.replace(" ", ",")), None)
    scan_ms = (time.perf_counter() - start) * 1000
    row(
        "peer: linear scan of the CSV for one product",
        scan_ms,
        "ms",
        scan_ms / pct(times, 50),
        "slower than ground()",
    )

    print("ad hoc --data (10,000 rows, more than the budget)")
    small = tmp / "small.csv"
    with open(csv_path, encoding="utf-8") as src, open(small, "w", encoding="utf-8") as dst:
        for _ in range(10_001):
            dst.write(src.readline())
    questions = [f"What does product P{rnd.randint(1, 10_000)} cost?" for _ in range(5)]
    (tmp / "config").mkdir(exist_ok=True)
    (tmp / "config" / "config.toml").write_text("[grounding]\nmax_context_tokens = 8000\n")
    times = latencies(lambda q: ground(client, q, None, {"max_tokens": 300}, data=[str(small)]), questions)
    row("ground() with --data, 8k-token window: p50", pct(times, 50), "ms")
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row("this process's peak RSS (generator, floors, searches)", usage, "MB")


if __name__ == "__main__":
    main()
