"""Redis store speed, one run: hit latency through Client.chat with RedisStore vs SQLiteStore vs a
raw redis-py GET of the same value (the floor), all measured here; then, when the gateway is
installed, cached-hit throughput of one and of two `prosa serve` replicas sharing one Redis.

Starts its own redis-server (from PATH) on a free loopback port.
Run: python bench/redis.py [--iterations N]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# This file is named like the redis package: take its folder off the front of sys.path so that
# `import redis` finds redis-py, and put it at the back for the shared bench helpers.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]
import redis  # noqa: E402
from _common import pct, per_call_us, row  # noqa: E402
from cache import QUESTION, client_for, entry_bytes  # noqa: E402

from prosa.cache import SQLiteStore  # noqa: E402
from prosa.cache.stores.redis import RedisStore  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis() -> tuple[subprocess.Popen, str]:
    exe = shutil.which("redis-server")
    if exe is None:
        sys.exit("redis-server is not installed: apt-get install redis-server")
    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=10_000)
    args = parser.parse_args()
    n = args.iterations
    value = entry_bytes()
    proc, url = start_redis()
    try:
        raw = redis.Redis.from_url(url)
        store = RedisStore(url)
        client, key = client_for(store)
        store.put(key, value)
        name = store.entry_name(key)
        floor = per_call_us(lambda: raw.get(name), n)
        hit = per_call_us(lambda: client.chat(QUESTION, model="gpt-4o-mini", temperature=0), n)
        with tempfile.TemporaryDirectory() as d:
            sqlite_store = SQLiteStore(Path(d) / "c.db")
            sclient, skey = client_for(sqlite_store)
            sqlite_store.put(skey, value)
            shit = per_call_us(lambda: sclient.chat(QUESTION, model="gpt-4o-mini", temperature=0), n)
            sclient.close()
        f50 = pct(floor, 50)
        print(f"Redis store hit latency, {n:,} lookups, redis-server on loopback")
        row("raw redis-py GET of the same value (the floor), p50", f50, "us")
        row("Client.chat hit, RedisStore, p50", pct(hit, 50), "us", pct(hit, 50) / f50, "of the floor")
        row("Client.chat hit, RedisStore, p99", pct(hit, 99), "us")
        row(
            "Client.chat hit, SQLiteStore, p50",
            pct(shit, 50),
            "us",
            pct(shit, 50) / f50,
            "of the Redis floor",
        )
        client.close()
        gateway_replicas(url)
    finally:
        proc.kill()


def gateway_replicas(url: str) -> None:
    try:
        from gateway import replica_throughput  # type: ignore[attr-defined]
    except ImportError:
        print("gateway replicas: bench/gateway.py has no replica_throughput(); skipped")
        return
    replica_throughput(url)


if __name__ == "__main__":
    main()
