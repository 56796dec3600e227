"""Scale-out of `prosa serve` on one Redis: 1, 2 and 4 worker processes, and two replicas.

    python bench/scale.py [--seconds 5] [--connections 32] [--delay-ms 100]

One run starts, on free loopback ports: a redis-server, a slow upstream (this file, answering every
chat after ``--delay-ms``), and `prosa serve` in each shape below, one after the other:

- redis, 1 / 2 / 4 workers: one `prosa serve --workers N` on the Redis;
- redis, 2 replicas: two `prosa serve --workers 1` on the Redis, one wrk each (their req/s add up);
- sqlite, 1 worker: the peer for the Redis-vs-SQLite cached-hit ratio (same machine, same run).

For each, after 2 s of hits not counted (a fresh process warms up), it drives cached hits (one body, answered from the cache) and a 90/10 hit/miss mix (every
tenth request a new question, so a miss to the slow upstream), and prints req/s and p99 for each,
as ratios to one worker on Redis. Then the Redis bytes per cached entry (INFO used_memory over
10,000 entries). Needs wrk and redis-server. Every load is bounded in time and aimed at 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "bench"
# This folder holds bench/redis.py: take it off the front of sys.path so `import redis` finds redis-py.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))  # after site-packages: bench/redis.py is not redis-py

from gateway import QUESTION  # noqa: E402
from gateway import wrk as wrk_run  # noqa: E402

from tests.support import RedisServer, free_port, wait_http  # noqa: E402

MIX_LUA = """
counter = 0
request = function()
  counter = counter + 1
  local q
  if counter % 10 == 0 then q = "new question " .. math.random(1, 1000000000) .. " " .. counter
  else q = "cached question " .. (counter % 4) end
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"},
    '{"model": "ok", "messages": [{"role": "user", "content": "' .. q .. '"}]}')
end
"""


def upstream_app(delay: float):  # type: ignore[no-untyped-def]
    """A slow OpenAI-compatible upstream: every chat answered after ``delay`` seconds."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def chat(request):  # type: ignore[no-untyped-def]
        await request.body()
        await asyncio.sleep(delay)

        def event(delta: dict, finish: str | None) -> bytes:
            data = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": int(time.time()),
                    "model": "ok", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
            return b"data: " + json.dumps(data).encode() + b"\n\n"

        body = b"".join([*(event({"content": w}, None) for w in ("one", " two", " three", " four", " five")),
                         event({}, "stop"), b"data: [DONE]\n\n"])  # fmt: skip
        return Response(body, media_type="text/event-stream")

    async def health(request):  # type: ignore[no-untyped-def]
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/healthz", health)]
    )


def wrk_mix(url: str, seconds: int, connections: int) -> dict[str, float]:
    """The 90/10 mix through wrk: the body comes from the Lua script."""
    from gateway import run_wrk

    return run_wrk(url, MIX_LUA, seconds, connections)


class Shape:
    """One or more `prosa serve` processes on one cache, and the URLs to drive."""

    def __init__(self, name: str, cache: str, workers: int, replicas: int, upstream: str, env: dict) -> None:
        self.name = name
        self.procs: list[subprocess.Popen[bytes]] = []
        self.urls: list[str] = []
        for _ in range(replicas):
            port = free_port()
            log = open(Path(env["PROSA_CACHE_DIR"]).parent / f"serve-{port}.log", "wb")  # noqa: SIM115
            proc = subprocess.Popen(
                [sys.executable, "-m", "prosa.cli.main", "serve", "--port", str(port), "--workers", str(workers),
                 "--upstream", upstream, "--cache", cache, "--no-access-log"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            log.close()
            wait_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=60)
            self.procs.append(proc)
            self.urls.append(f"http://127.0.0.1:{port}/v1/chat/completions")

    def drive(self, fn, seconds: int, connections: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
        share = max(1, connections // len(self.urls))
        with ThreadPoolExecutor(len(self.urls)) as pool:
            runs = list(pool.map(lambda u: fn(u, seconds, share), self.urls))
        return {"rps": sum(r["rps"] for r in runs), "p99": max(r["p99"] for r in runs)}

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def warm(urls: list[str]) -> None:
    import httpx

    bodies = [QUESTION] + [
        {"model": "ok", "messages": [{"role": "user", "content": f"cached question {i}"}]} for i in range(4)
    ]
    for url in urls:
        for body in bodies:
            httpx.post(url, json=body, timeout=30).raise_for_status()


def entry_bytes(redis_url: str, n: int = 10_000) -> float:
    """Redis memory per cached entry: used_memory before and after n entries of a bench answer."""
    import redis

    from prosa.cache.stores.redis import RedisStore

    raw = redis.Redis.from_url(redis_url)
    store = RedisStore(redis_url, namespace="sizing")
    value = raw.get(next(iter(raw.scan_iter(match="prosa:e:*")))) or b""
    before = int(raw.info("memory")["used_memory"])
    for i in range(0, n, 500):
        pipe = raw.pipeline(transaction=False)
        for j in range(i, i + 500):
            key = f"{j:064x}"
            pipe.set(store.entry_name(key), value)
            pipe.zadd("sizing:created", {key: time.time()})
        pipe.execute()
    after = int(raw.info("memory")["used_memory"])
    raw.delete(*[store.entry_name(f"{j:064x}") for j in range(n)], "sizing:created")
    print(f"  entry value {len(value)} bytes")
    return (after - before) / n


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--delay-ms", type=int, default=100)
    parser.add_argument("--budget-ms", type=int, help="the Redis budget (default: prosa's, 50 ms)")
    parser.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        import uvicorn

        uvicorn.run(
            upstream_app(args.delay_ms / 1000),
            host="127.0.0.1",
            port=args.serve_upstream,
            log_level="warning",
        )
        return 0
    for tool in ("wrk", "redis-server"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")
    home = tempfile.mkdtemp(prefix="prosa-bench-scale-")
    env = {**os.environ, "PROSA_CACHE_DIR": f"{home}/cache", "PROSA_CONFIG_DIR": f"{home}/config",
           "OPENAI_API_KEY": "k", "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}  # fmt: skip
    redis_server = RedisServer()
    redis_server.start()
    up_port = free_port()
    upstream = subprocess.Popen([sys.executable, __file__, "--serve-upstream", str(up_port), "--delay-ms",
                                 str(args.delay_ms)], env=env)  # fmt: skip
    wait_http(f"http://127.0.0.1:{up_port}/healthz", upstream)
    upstream_url = f"http://127.0.0.1:{up_port}/v1"
    url = redis_server.url + (f"?budget_ms={args.budget_ms}" if args.budget_ms else "")
    shapes = [
        ("redis, 1 worker", url, 1, 1),
        ("redis, 2 workers", url, 2, 1),
        ("redis, 4 workers", url, 4, 1),
        ("redis, 2 replicas", url, 1, 2),
        ("sqlite, 1 worker", f"sqlite:///{home}/bench.db", 1, 1),
    ]
    results: dict[str, tuple[dict, dict]] = {}
    print(f"# prosa serve scale bench: {os.cpu_count()} cores, {args.connections} connections, "
          f"{args.seconds}s per run, upstream {args.delay_ms} ms per miss, Redis budget "
          f"{args.budget_ms or 50} ms; load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    try:
        for name, cache, workers, replicas in shapes:
            shape = Shape(name, cache, workers, replicas, upstream_url, env)
            try:
                warm(shape.urls)
                shape.drive(lambda u, s, c: wrk_run(u, QUESTION, s, c), 2, args.connections)  # not counted
                hits = shape.drive(lambda u, s, c: wrk_run(u, QUESTION, s, c), args.seconds, args.connections)
                mix = shape.drive(wrk_mix, args.seconds, args.connections)
            finally:
                shape.stop()
            results[name] = (hits, mix)
            print(f"  {name:18} hits {hits['rps']:8.0f} req/s p99 {hits['p99']:7.2f} ms | "
                  f"90/10 mix {mix['rps']:7.0f} req/s p99 {mix['p99']:7.2f} ms", flush=True)  # fmt: skip
        base_hits, base_mix = results["redis, 1 worker"]
        print("\nratios to one worker on Redis (throughput x, p99 x):")
        for name, (hits, mix) in results.items():
            print(f"  {name:18} hits {hits['rps'] / base_hits['rps']:5.2f}x  p99 {hits['p99'] / base_hits['p99']:5.2f}x"
                  f"  | mix {mix['rps'] / base_mix['rps']:5.2f}x  p99 {mix['p99'] / base_mix['p99']:5.2f}x")  # fmt: skip
        sqlite_hits = results["sqlite, 1 worker"][0]
        print(f"\ncached hit, Redis vs SQLite, one worker: {base_hits['rps']:.0f} vs {sqlite_hits['rps']:.0f} req/s "
              f"= {base_hits['rps'] / sqlite_hits['rps']:.2f}x (target >= 0.7x)")  # fmt: skip
        print(f"Redis memory per cached entry: {entry_bytes(redis_server.url):.0f} bytes")
    finally:
        upstream.terminate()
        upstream.wait(10)
        redis_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
