"""Cache-hit speed, one run: prosa's hit paths against the floors and peers measured alongside.

- SQLite hit through Client.chat at 10k and 1M entries vs a raw sqlite3 point lookup of the same
  value (the floor). Target: p50 <= 2x the floor.
- Memory hit through Client.chat. Target: p50 <= 20 us.
- With LangChain installed: ChatOpenAI.invoke with LangChain's InMemoryCache and SQLiteCache (peers).
  Target: prosa's SQLite hit >= 10x faster than LangChain's SQLiteCache.
- `prosa ask` answered from the cache, whole process, vs `python -c "import sqlite3"`. Target <= 4x.

Run: python bench/cache.py [--large N]   (default N = 1,000,000; --large 0 skips it)
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import warnings  # noqa: E402

from _common import BIN, PYTHON, pct, per_call_us, row, wall_ms  # noqa: E402

from prosa import Client  # noqa: E402
from prosa.cache import Entry, MemoryStore, SQLiteStore, cache_key  # noqa: E402
from prosa.reply import Chunk, Usage  # noqa: E402

QUESTION = "Name a prime number"
ANSWER = [
    "Seven",
    " is",
    " a",
    " prime",
    " number",
    ":",
    " it",
    " has",
    " no",
    " divisors",
    " but",
    " 1",
    " and",
    " itself",
    ".",
]
IDENTITY = "openai:http://127.0.0.1:9/v1"  # never contacted: every call below is a hit


def entry_bytes() -> bytes:
    chunks = [Chunk(t, None, None, 20.0 * i) for i, t in enumerate(ANSWER)]
    chunks.append(Chunk("", "stop", Usage(14, 15), 20.0 * len(ANSWER)))
    return Entry.from_chunks(chunks, "gpt-4o-mini", "openai", QUESTION).encode()


def client_for(store) -> tuple[Client, str]:
    client = Client(base_url="http://127.0.0.1:9/v1", api_key="sk-bench", cache=store, max_retries=0)
    request = client.prepare(QUESTION, "gpt-4o-mini", {"temperature": 0}, False, True).request
    key = cache_key(client.provider_for("gpt-4o-mini").identity, request)
    assert client.provider_for("gpt-4o-mini").identity == IDENTITY
    return client, key


def fill(path: Path, n: int, key: str, value: bytes) -> None:
    """n filler entries plus the measured one, written in bulk through the store's own schema."""
    from prosa.cache.stores.sqlite import _PUT

    SQLiteStore(path).close()  # creates the file and schema
    conn = sqlite3.connect(path)
    now = time.time()
    filler = value[:200]
    batch = 50_000
    with conn:
        for start in range(0, n, batch):
            rows = [
                (f"{i:064x}", filler, len(filler), now, now, None)
                for i in range(start, min(n, start + batch))
            ]
            conn.executemany(_PUT, rows)
            if n >= 200_000:
                print(
                    f"\r  filling {min(n, start + batch):,}/{n:,} entries",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
        conn.execute(_PUT, (key, value, len(value), now, now, None))
    if n >= 200_000:
        print(file=sys.stderr)
    conn.close()


def sqlite_case(n: int, value: bytes, tmp: Path, iterations: int) -> None:
    path = tmp / f"bench-{n}.db"
    client, key = client_for(None)
    fill(path, n, key, value)
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA journal_mode").fetchone()
    floor = per_call_us(
        lambda: raw.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone(), iterations
    )
    client, key2 = client_for(SQLiteStore(path))
    assert key2 == key
    reply = client.chat(QUESTION, model="gpt-4o-mini", temperature=0)
    assert reply.cached and reply.text == "".join(ANSWER), reply
    hit = per_call_us(lambda: client.chat(QUESTION, model="gpt-4o-mini", temperature=0), iterations)
    stream_hit = per_call_us(
        lambda: list(client.chat(QUESTION, model="gpt-4o-mini", temperature=0, stream=True)), iterations
    )
    f50, h50, s50 = pct(floor, 50), pct(hit, 50), pct(stream_hit, 50)
    print(f"SQLite store, {n:,} entries ({path.stat().st_size / 1e6:.0f} MB file), {iterations:,} lookups")
    row("raw sqlite3 point lookup (the floor), p50", f50, "us")
    row("Client.chat hit, p50", h50, "us", h50 / f50, "of the floor", "target <= 2x")
    row("Client.chat hit, p99", pct(hit, 99), "us")
    row("Client.chat(stream=True) hit, read whole, p50", s50, "us", s50 / f50, "of the floor")
    client.close()
    raw.close()
    return h50


def memory_case(value: bytes, iterations: int) -> float:
    store = MemoryStore()
    client, key = client_for(store)
    store.put(key, value)
    hit = per_call_us(lambda: client.chat(QUESTION, model="gpt-4o-mini", temperature=0), iterations)
    print(f"Memory store, {iterations:,} lookups")
    row("Client.chat hit, p50", pct(hit, 50), "us", None, "", "target <= 20 us")
    row("Client.chat hit, p99", pct(hit, 99), "us")
    return pct(hit, 50)


def langchain_case(prosa_sqlite_p50: float, tmp: Path, iterations: int) -> None:
    try:
        from langchain_community.cache import SQLiteCache as LCSQLiteCache
        from langchain_core.caches import InMemoryCache as LCInMemoryCache
        from langchain_core.globals import set_llm_cache
        from langchain_core.messages import AIMessage
        from langchain_core.outputs import ChatGeneration
        from langchain_openai import ChatOpenAI
    except ImportError:
        print("LangChain peers: not installed (pip install langchain-openai langchain-community)")
        return
    warnings.filterwarnings("ignore")  # LangChain re-enables its own deprecation warnings on import
    model = ChatOpenAI(
        model="gpt-4o-mini",
        base_url="http://127.0.0.1:9/v1",
        api_key="sk-bench",
        temperature=0,
        max_retries=0,
    )
    print(f"LangChain peers (ChatOpenAI.invoke cache hits), {iterations // 4:,} calls")
    for name, cache in (
        ("InMemoryCache", LCInMemoryCache()),
        ("SQLiteCache", LCSQLiteCache(str(tmp / "lc.db"))),
    ):
        set_llm_cache(cache)
        # Prime the cache with the exact entry ChatOpenAI will look up.
        llm_string = model._get_llm_string()
        from langchain_core.language_models.base import LanguageModelInput  # noqa: F401
        from langchain_core.load import dumpd  # noqa: F401 - the peer's own serialization path
        from langchain_core.messages import HumanMessage

        prompt = model._convert_input(QUESTION).to_messages()
        import langchain_core.load as lc_load

        cache.update(lc_load.dumps(prompt), llm_string, [ChatGeneration(message=AIMessage("".join(ANSWER)))])
        assert model.invoke([HumanMessage(QUESTION)]).content == "".join(ANSWER)
        times = per_call_us(lambda: model.invoke(QUESTION), iterations // 4, warmup=20)
        p50 = pct(times, 50)
        row(
            f"LangChain {name}, p50",
            p50,
            "us",
            p50 / prosa_sqlite_p50,
            "prosa SQLite hit is faster by",
            "target >= 10x" if name == "SQLiteCache" else "",
        )
    set_llm_cache(None)


def cli_case(tmp: Path, value: bytes) -> None:
    path = tmp / "cli.db"
    env = {"PROSA_CONFIG_DIR": str(tmp / "cfg"), "OPENAI_API_KEY": "sk-bench", "PROSA_CACHE": str(path)}
    os.environ.update(env)
    client, key = client_for(SQLiteStore(path))
    client.cache.store.put(key, value)
    client.close()
    cmd = [
        str(BIN / "prosa"),
        "ask",
        "-m",
        "gpt-4o-mini",
        "-t",
        "0",
        "--base-url",
        "http://127.0.0.1:9/v1",
        QUESTION,
    ]
    floor = wall_ms([PYTHON, "-c", "import sqlite3"])
    whole = wall_ms(cmd, env=env)
    print("Whole process, median of 15 runs")
    row('python -c "import sqlite3" (the floor)', floor, "ms")
    row("prosa ask, answered from the cache", whole, "ms", whole / floor, "of the floor", "target <= 4x")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--large", type=int, default=1_000_000, help="entries in the large SQLite case (0 skips)"
    )
    parser.add_argument("--iterations", type=int, default=20_000)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # the peers' deprecation warnings, once per call
    value = entry_bytes()
    print(
        f"prosa cache bench: {os.cpu_count()} cores, Python {sys.version.split()[0]}, entry {len(value)} bytes\n"
    )
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        p50 = sqlite_case(10_000, value, tmp, args.iterations)
        if args.large:
            sqlite_case(args.large, value, tmp, args.iterations)
        memory_case(value, args.iterations)
        langchain_case(p50, tmp, args.iterations)
        cli_case(tmp, value)


if __name__ == "__main__":
    main()
