"""A cache hit through ``ChatOpenAI.invoke``: prosa's SQLiteCache vs LangChain's caches, one run.

    python bench/langchain.py [--rounds 5] [--per-round 400]

Starts the test upstream (llama.cpp's OpenAI-compatible server with the bundled model) on a free
loopback port, warms each cache with one real answer, then times ``invoke`` hits, interleaving
the caches round by round so drift on a shared machine hits them alike. It also times each
cache's ``lookup`` alone, to show which part of a hit is the cache and which is LangChain.
Checks that no timed call reached the upstream. Targets: prosa's SQLite cache >= 3x faster than
``langchain_community.cache.SQLiteCache``, and within 1.2x of ``langchain_core``'s InMemoryCache.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file is named langchain.py: keep its folder off the path so `import langchain` elsewhere
# finds the real package, and put the repository root on it for tests.support.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import warnings  # noqa: E402
from typing import Any  # noqa: E402

from bench._common import per_call_us  # noqa: E402  (the shared timing loop)

PROMPT = "What is the capital of France? Answer in one word."


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=400)
    args = parser.parse_args()

    from langchain_community.cache import SQLiteCache as LangChainSQLiteCache
    from langchain_core.caches import InMemoryCache as LangChainInMemoryCache
    from langchain_core.globals import set_llm_cache
    from langchain_core.load import dumps
    from langchain_core.messages import HumanMessage
    from langchain_openai import ChatOpenAI

    from prosa.langchain import InMemoryCache, SQLiteCache
    from tests.support import UPSTREAM_KEY, start_module

    # After the imports, which install LangChain's own filters: langchain-community's sunset and
    # loads() notices would otherwise print on every timed hit.
    warnings.simplefilter("ignore")

    tmp = Path(tempfile.mkdtemp(prefix="prosa-bench-"))
    caches: dict[str, Any] = {
        "prosa SQLiteCache": SQLiteCache(database_path=tmp / "prosa.db"),
        "prosa InMemoryCache": InMemoryCache(),
        "langchain_community SQLiteCache": LangChainSQLiteCache(database_path=str(tmp / "langchain.db")),
        "langchain_core InMemoryCache": LangChainInMemoryCache(),
    }
    print("starting the test upstream (llama.cpp server, bundled model)...", file=sys.stderr)
    server = start_module("tests.servers.llama_upstream", UPSTREAM_KEY)
    try:
        llm = ChatOpenAI(
            model="smol",
            base_url=server.base_url,
            api_key=UPSTREAM_KEY,
            temperature=0,
            extra_body={"max_tokens": 8},
        )
        for cache in caches.values():  # one real answer into each cache
            set_llm_cache(cache)
            llm.invoke(PROMPT)
        before = server.count()
        invoke: dict[str, list[float]] = {name: [] for name in caches}
        lookup: dict[str, list[float]] = {name: [] for name in caches}
        llm_string = llm._get_llm_string()
        prompt = dumps([HumanMessage(content=PROMPT)])
        for name, cache in caches.items():
            assert cache.lookup(prompt, llm_string), f"{name}: the warm entry is not found"
        for _ in range(args.rounds):
            for name, cache in caches.items():
                set_llm_cache(cache)
                per_call_us(
                    lambda: llm.invoke(PROMPT), 50, warmup=0
                )  # warm this cache's path again after the others
                gc.collect()
                invoke[name] += per_call_us(lambda: llm.invoke(PROMPT), args.per_round, warmup=0)
                lookup[name] += per_call_us(
                    lambda c=cache: c.lookup(prompt, llm_string), args.per_round, warmup=0
                )
        calls = server.count() - before
    finally:
        set_llm_cache(None)
        server.stop()

    if calls:
        print(f"error: {calls} timed call(s) reached the upstream; the figures are not cache hits")
        return 1
    n = args.rounds * args.per_round
    print(f"cache hit through ChatOpenAI.invoke, {n} calls each (microseconds; lookup = cache.lookup alone)")
    print(f"{'cache':34} {'invoke p50':>10} {'mean':>8} {'lookup p50':>11} {'mean':>8}")
    p50: dict[str, float] = {}
    for name in caches:
        p50[name] = statistics.median(invoke[name])
        print(
            f"{name:34} {p50[name]:10.1f} {statistics.fmean(invoke[name]):8.1f}"
            f" {statistics.median(lookup[name]):11.1f} {statistics.fmean(lookup[name]):8.1f}"
        )
    ours = p50["prosa SQLiteCache"]
    floor = p50["langchain_core InMemoryCache"]  # a dict lookup: the rest is LangChain's own work
    lookup50 = {name: statistics.median(values) for name, values in lookup.items()}
    rows = [
        (
            "langchain_community SQLiteCache / prosa SQLiteCache",
            p50["langchain_community SQLiteCache"] / ours,
            ">=",
            3.0,
        ),
        ("prosa SQLiteCache / langchain_core InMemoryCache", ours / floor, "<=", 1.2),
    ]
    print("ratios of invoke p50:")
    for label, ratio, sense, target in rows:
        met = ratio >= target if sense == ">=" else ratio <= target
        print(f"  {label:52} {ratio:5.2f}x   target {sense} {target:g}x: {'met' if met else 'MISSED'}")
    print(
        f"the cache's own part: prosa SQLiteCache lookup {lookup50['prosa SQLiteCache']:.1f} us vs "
        f"langchain_community's {lookup50['langchain_community SQLiteCache']:.1f} us "
        f"({lookup50['langchain_community SQLiteCache'] / lookup50['prosa SQLiteCache']:.0f}x); "
        f"LangChain's own work per hit is about {floor - lookup50['langchain_core InMemoryCache']:.0f} us"
    )
    print(f"hits reaching the upstream during timing: {calls}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
