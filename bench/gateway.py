"""Benchmark of `prosa serve`: cached-hit throughput against a bare-Starlette floor, and miss overhead.

    python bench/gateway.py [--seconds 10] [--connections 32] [--workers 2]

One run starts, on free loopback ports: the scripted upstream (tests/servers/scripted_upstream.py),
a bare Starlette app returning a fixed JSON body (the floor: what the same server stack can do at
best), and `prosa serve` with a SQLite cache in a temporary directory. It prints:

- wrk figures (req/s, p50, p99) for the floor, for cached non-stream hits and cached stream hits,
  and the ratio of each to the floor;
- the time to first token of a miss, directly from the upstream and through the gateway, and the
  difference (what the gateway adds), over sequential requests;
- the cost of per-tenant keying (issue 13): cached-hit req/s of a gateway without keys and of one with
  a keys file (each request a tenant found by its key's digest, its own cache scope, its counters),
  in alternating rounds, with the floor measured in the same run. ``--tenants-only`` runs just this.

Needs wrk (`apt-get install -y wrk`). Every load is bounded in time and aimed at 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import free_port, start_module, wait_http  # noqa: E402

QUESTION = {"model": "ok", "messages": [{"role": "user", "content": "Benchmark question"}]}
FLOOR_BODY = json.dumps(
    {
        "id": "chatcmpl-0",
        "object": "chat.completion",
        "created": 0,
        "model": "ok",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "one two three four five"},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],  # fmt: skip
        "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
    }
).encode()


def floor_app():  # type: ignore[no-untyped-def]
    """The floor: bare Starlette on the same server, answering every POST with a fixed JSON body."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def fixed(request):  # type: ignore[no-untyped-def]
        return Response(FLOOR_BODY, media_type="application/json")

    return Starlette(routes=[Route("/v1/chat/completions", fixed, methods=["POST"])])


def start(cmd: list[str], env: dict[str, str], url: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wait_http(url, proc, timeout=60)
    return proc


def wrk(
    url: str, body: dict, seconds: int, connections: int, vary: bool = False, headers: dict | None = None
) -> dict[str, float]:
    """One wrk run with a POST body; returns req/s, p50 and p99 in ms, and non-2xx count.

    ``vary`` makes every body byte-distinct (a counter in the ignored "user" field): the same cached
    answer, but no two requests alike, so the gateway parses and validates each one in full.
    """
    lua = 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
    for name, value in (headers or {}).items():
        lua += f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}\n"
    lua += f"wrk.body = {json.dumps(json.dumps(body))}\n"
    if vary:
        head = json.dumps(json.dumps(body)[:-1] + ', "user": "u')
        lua += ("counter = 0\nrequest = function()\n  counter = counter + 1\n"
                f"  return wrk.format(nil, nil, nil, {head} .. counter .. '\"}}')\nend\n")  # fmt: skip
    return run_wrk(url, lua, seconds, connections)


def run_wrk(url: str, lua: str, seconds: int, connections: int) -> dict[str, float]:
    """wrk with a Lua script against ``url``: req/s, p50 and p99 in ms, non-2xx count, requests."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
        script = f.name
    try:
        done = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url],
            capture_output=True, text=True, timeout=seconds + 30, check=True,
        )  # fmt: skip
    finally:
        os.unlink(script)
    out = done.stdout
    if "Requests/sec" not in out or "99%" not in out:
        raise RuntimeError(f"wrk gave no figures:\n{out}{done.stderr}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        "errors": float(non2xx.group(1)) if non2xx else 0.0,
        "requests": float(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its descendants (uvicorn's workers), from /proc."""
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, cpu seconds)
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    mine, added = {pid}, True
    while added:
        more = {p for p, (parent, _) in stats.items() if parent in mine} - mine
        mine |= more
        added = bool(more)
    return sum(stats[p][1] for p in mine if p in stats)


def cpu_per_request(pid: int, run: Callable[[], dict[str, float]]) -> tuple[dict[str, float], float]:
    """A wrk run and the gateway's CPU microseconds per request during it (less sensitive than req/s
    to other load on the machine: time spent waiting for a core is not counted)."""
    before = cpu_seconds(pid)
    result = run()
    return result, (cpu_seconds(pid) - before) / max(
        result["requests"], 1
    ) * 1e6  # 0: wrk got nothing through


def _ms(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if found is None:
        raise RuntimeError(f"cannot read wrk's latency {text!r}")
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def ttft(port: int, body: dict, headers: dict[str, str], n: int) -> list[float]:
    """Times (ms) to the first non-empty content delta of n sequential streamed requests, one connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    times = []
    for i in range(n):
        payload = json.dumps(
            {**body, "stream": True, "messages": [{"role": "user", "content": f"q{i} {time.time()}"}]}
        )
        start = time.perf_counter()
        conn.request("POST", "/v1/chat/completions", payload, {"Content-Type": "application/json", **headers})
        resp = conn.getresponse()
        first = None
        while True:
            line = resp.readline()
            if not line:
                break
            if first is None and line.startswith(b"data: {") and _content(line[6:]):
                first = (time.perf_counter() - start) * 1000
        assert resp.status == 200 and first is not None, resp.status
        times.append(first)
    conn.close()
    return times


class LibraryTTFT:
    """Times (ms) to the first chunk through prosa's own AsyncClient: the provider the gateway uses."""

    def __init__(self, base_url: str) -> None:
        import asyncio

        from prosa import AsyncClient

        self.loop = asyncio.new_event_loop()
        self.client = AsyncClient(base_url=base_url, api_key="x", cache=None)
        self(5)  # the first calls import the SDK and connect

    def __call__(self, n: int) -> list[float]:
        return self.loop.run_until_complete(self._run(n))

    def close(self) -> None:
        import gc

        del self.client
        gc.collect()  # finalize the client's generators while the loop still runs
        self.loop.run_until_complete(_drain())
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    async def _run(self, n: int) -> list[float]:
        times = []
        for i in range(n):
            start = time.perf_counter()
            stream = await self.client.chat(f"q{i} {time.time()}", model="ok", stream=True)
            first = None
            async with stream:
                async for _ in stream:
                    if first is None:
                        first = (time.perf_counter() - start) * 1000
            times.append(first)
        return times


async def _drain() -> None:
    """Let every other task of this loop finish (stream finalizers scheduled by the collection)."""
    import asyncio

    await asyncio.sleep(0)
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    await asyncio.gather(*others, return_exceptions=True)


def _content(event: bytes) -> str:
    choices = json.loads(event).get("choices") or [{}]
    return (choices[0].get("delta") or {}).get("content") or ""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--workers", type=int, default=2, help="worker processes, for the floor and the gateway"
    )
    parser.add_argument("--ttft-requests", type=int, default=200)
    parser.add_argument("--tenants-only", action="store_true", help="only the floor and the keys comparison")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the keys comparison")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench/gateway.py needs wrk, which is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2

    home = tempfile.mkdtemp(prefix="prosa-bench-")
    env = {**os.environ, "PROSA_CACHE_DIR": f"{home}/cache", "PROSA_CONFIG_DIR": f"{home}/config",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}  # fmt: skip
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PROSA_CACHE", "PROSA_MODEL"):
        env.pop(name, None)
    os.environ.update(
        {"PROSA_CACHE_DIR": env["PROSA_CACHE_DIR"], "PROSA_CONFIG_DIR": env["PROSA_CONFIG_DIR"]}
    )
    procs: list[subprocess.Popen[bytes]] = []
    upstream = start_module("tests.servers.scripted_upstream")
    try:
        floor_port, gw_port = free_port(), free_port()
        py = sys.executable
        procs.append(start(
            [py, "-m", "uvicorn", "bench.gateway:floor_app", "--factory", "--port", str(floor_port),
             "--workers", str(args.workers), "--log-level", "warning", "--no-access-log"],
            env, f"http://127.0.0.1:{floor_port}/",
        ))  # fmt: skip
        procs.append(start(
            [py, "-m", "prosa.cli.main", "serve", "--port", str(gw_port), "--workers", str(args.workers), "--no-access-log",
             "--upstream", upstream.base_url],
            env, f"http://127.0.0.1:{gw_port}/healthz",
        ))  # fmt: skip
        gw = f"http://127.0.0.1:{gw_port}/v1/chat/completions"
        # Seed the cache (one miss), and check the next one is a hit.
        for _ in range(2):
            conn = http.client.HTTPConnection("127.0.0.1", gw_port)
            conn.request(
                "POST", "/v1/chat/completions", json.dumps(QUESTION), {"Content-Type": "application/json"}
            )
            resp = conn.getresponse()
            resp.read()
            state = resp.getheader("x-prosa-cache")
        assert state == "hit", state
        if args.tenants_only:
            tenant_cost(args, env, home, upstream.base_url, gw, floor_port, procs[1].pid)
            return 0
        print(f"# prosa serve bench: {os.cpu_count()} cores, {args.workers} worker(s), {args.connections} "
              f"connections, {args.seconds}s per run, wrk -t2")  # fmt: skip
        runs = {
            "floor (bare Starlette, fixed JSON)": wrk(f"http://127.0.0.1:{floor_port}/v1/chat/completions",
                                                      QUESTION, args.seconds, args.connections),
            "gateway cached hit, non-stream": wrk(gw, QUESTION, args.seconds, args.connections),
            "gateway cached hit, stream": wrk(gw, {**QUESTION, "stream": True}, args.seconds, args.connections),
            "  ...non-stream, every body distinct": wrk(gw, QUESTION, args.seconds, args.connections, vary=True),
        }  # fmt: skip
        floor = runs["floor (bare Starlette, fixed JSON)"]["rps"]
        print(f"{'run':40} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'x floor':>8} {'non-2xx':>8}")
        for name, r in runs.items():
            print(f"{name:40} {r['rps']:9.0f} {r['p50']:8.2f} {r['p99']:8.2f} {r['rps'] / floor:8.2f} "
                  f"{r['errors']:8.0f}")  # fmt: skip
        hit = runs["gateway cached hit, non-stream"]
        verdict = "met" if hit["rps"] >= 5000 and hit["p99"] <= 20 else "NOT met"
        print(f"target >= 5,000 req/s with p99 <= 20 ms for non-stream hits: {verdict}")

        # Interleaved rounds, so that load from elsewhere on the machine falls on every path alike.
        n, rounds = args.ttft_requests, 10
        library = LibraryTTFT(upstream.base_url)
        paths = {
            "upstream directly (http.client)": lambda k: ttft(upstream.port, {"model": "ok"}, {}, k),
            "prosa AsyncClient (openai SDK)": library,
            # no-store: every request goes upstream as a bypass: the miss path without the cache.
            "through the gateway, no-store": lambda k: ttft(
                gw_port, {"model": "ok"}, {"Cache-Control": "no-store"}, k
            ),
            "through the gateway, miss": lambda k: ttft(gw_port, {"model": "ok"}, {}, k),
        }
        times: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(rounds):
            for name, measure in paths.items():
                times[name] += measure(max(1, n // rounds))
        print(f"\nmiss time to first token, {n} sequential streamed requests each (median / p90, ms):")
        for name, t in times.items():
            print(f"  {name:32} {statistics.median(t):7.2f} / {_p90(t):7.2f}")
        median = {name: statistics.median(t) for name, t in times.items()}
        added = median["through the gateway, miss"] - median["upstream directly (http.client)"]
        own = median["through the gateway, miss"] - median["prosa AsyncClient (openai SDK)"]
        print(
            f"  added in all (median): {added:.2f} ms (target <= 2 ms: {'met' if added <= 2 else 'NOT met'})"
        )
        print(
            f"    of which prosa's provider (the openai SDK): {added - own:.2f} ms; the gateway itself: {own:.2f} ms"
        )
        library.close()
        tenant_cost(args, env, home, upstream.base_url, gw, floor_port, procs[1].pid)
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        upstream.stop()
        shutil.rmtree(home, ignore_errors=True)
    return 0


def tenant_cost(args: argparse.Namespace, env: dict[str, str], home: str, upstream: str, gw: str,
                floor_port: int, gw_pid: int) -> None:  # fmt: skip
    """Cached-hit req/s without keys and with a keys file, alternating; prints the cost of keying."""
    keys_file = Path(home) / "keys.toml"
    made = subprocess.run([sys.executable, "-m", "prosa.cli.main", "gateway-key", "create", "bench", "--keys",
                           str(keys_file)], env=env, capture_output=True, text=True, check=True)  # fmt: skip
    key = made.stdout.strip()
    port = free_port()
    keyed = start(
        [sys.executable, "-m", "prosa.cli.main", "serve", "--port", str(port), "--workers", str(args.workers),
         "--upstream", upstream, "--keys", str(keys_file), "--no-access-log"],
        env, f"http://127.0.0.1:{port}/healthz",
    )  # fmt: skip
    try:
        auth = {"Authorization": f"Bearer {key}"}
        for _ in range(2):  # seed the tenant's own cache
            conn = http.client.HTTPConnection("127.0.0.1", port)
            conn.request(
                "POST",
                "/v1/chat/completions",
                json.dumps(QUESTION),
                {"Content-Type": "application/json", **auth},
            )
            resp = conn.getresponse()
            resp.read()
        assert resp.getheader("x-prosa-cache") == "hit", resp.status
        keyed_url = f"http://127.0.0.1:{port}/v1/chat/completions"
        floor_url = f"http://127.0.0.1:{floor_port}/v1/chat/completions"
        rps: dict[str, list[float]] = {"floor": [], "without keys": [], "with keys (tenant)": []}
        cpu: dict[str, list[float]] = {"without keys": [], "with keys (tenant)": []}
        for i in range(args.rounds):
            rps["floor"].append(wrk(floor_url, QUESTION, args.seconds, args.connections)["rps"])
            pair = [("without keys", gw, None, gw_pid), ("with keys (tenant)", keyed_url, auth, keyed.pid)]
            for name, url, headers, pid in pair if i % 2 == 0 else pair[::-1]:  # alternate which goes first
                result, us = cpu_per_request(
                    pid, lambda u=url, h=headers: wrk(u, QUESTION, args.seconds, args.connections, headers=h)
                )
                rps[name].append(result["rps"])
                cpu[name].append(us)
        floor = statistics.median(rps["floor"])
        print(f"\nper-tenant keying, cached non-stream hits, {args.rounds} rounds of {args.seconds}s, the two "
              "gateways alternating (median; each round's figures):")  # fmt: skip
        for name, figures in rps.items():
            median = statistics.median(figures)
            each = ", ".join(f"{f:.0f}" for f in figures)
            print(f"  {name:22} {median:9.0f} req/s  x floor {median / floor:5.2f}   ({each})")
        for name, figures in cpu.items():
            each = ", ".join(f"{f:.1f}" for f in figures)
            print(f"  {name:22} {statistics.median(figures):9.1f} CPU us per request   ({each})")
        wall = 1 - statistics.median(rps["with keys (tenant)"]) / statistics.median(rps["without keys"])
        # Throughput is capacity / CPU per request: the CPU figure is the one other load does not blur.
        cost = 1 - statistics.median(cpu["without keys"]) / statistics.median(cpu["with keys (tenant)"])
        print(f"  cost of keying: {cost * 100:.1f}% of cached-hit capacity from CPU per request (target <= 5%: "
              f"{'met' if cost <= 0.05 else 'NOT met'}); {wall * 100:.1f}% from wall-clock req/s medians")  # fmt: skip
        in_process_cost(upstream, home, str(keys_file), key)
    finally:
        keyed.terminate()
        try:
            keyed.wait(10)
        except subprocess.TimeoutExpired:
            keyed.kill()


def in_process_cost(
    upstream: str, home: str, keys_file: str, key: str, rounds: int = 7, n: int = 5000
) -> None:
    """The ASGI app's own time per cached hit, without and with a keys file, called in this process
    (no HTTP server, no wrk): alternating rounds, so load elsewhere falls on both alike."""
    import asyncio

    from prosa.server.app import create_app
    from prosa.server.config import GatewayConfig

    body = json.dumps(QUESTION).encode()

    def app(keys: bool):  # type: ignore[no-untyped-def]
        return create_app(GatewayConfig(upstream=upstream, cache=f"{home}/in-process.db", access_log=False,
                                        keys_file=keys_file if keys else None))  # fmt: skip

    async def run(front, keys: bool, count: int) -> float:  # type: ignore[no-untyped-def]
        headers = [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
                   (b"content-length", b"%d" % len(body))]  # fmt: skip
        if keys:
            headers.append((b"authorization", b"Bearer " + key.encode()))
        scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": headers}
        sent = [False]

        async def receive() -> dict:
            if not sent[0]:
                sent[0] = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)  # a miss waits on the client's disconnect: it never comes
            return {"type": "http.disconnect"}

        status = [0]

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]

        start = time.perf_counter()
        for _ in range(count):
            sent[0] = False
            await front(dict(scope), receive, send)
        assert status[0] == 200, status[0]
        return (time.perf_counter() - start) / count * 1e6

    async def main() -> dict[str, list[float]]:
        fronts = {False: app(False), True: app(True)}
        for keys, front in fronts.items():
            await run(front, keys, 3)  # a miss, then hits
        times: dict[str, list[float]] = {"without keys": [], "with keys (tenant)": []}
        for i in range(rounds):
            for keys in (False, True) if i % 2 == 0 else (True, False):
                times["with keys (tenant)" if keys else "without keys"].append(
                    await run(fronts[keys], keys, n)
                )
        return times

    times = asyncio.run(main())
    plain, keyed = statistics.median(times["without keys"]), statistics.median(times["with keys (tenant)"])
    print(f"  in process (the ASGI app alone, {rounds} alternating rounds of {n} hits): {plain:.1f} us without "
          f"keys, {keyed:.1f} us with; keying adds {keyed - plain:.1f} us per hit")  # fmt: skip


def _p90(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.9)]


if __name__ == "__main__":
    sys.exit(main())


def replica_throughput(redis_url: str, seconds: int = 8, connections: int = 32) -> None:
    """Cached-hit throughput of one, then two `prosa serve` replicas (one worker each) on one Redis.

    Called by bench/redis.py. With two replicas, one wrk per replica runs at once (half the
    connections each) and their req/s add up: what a load balancer in front of them would see.
    """
    if shutil.which("wrk") is None:
        print("gateway replicas: wrk is not installed (apt-get install -y wrk); skipped")
        return
    home = tempfile.mkdtemp(prefix="prosa-bench-replicas-")
    env = {**os.environ, "PROSA_CACHE_DIR": f"{home}/cache", "PROSA_CONFIG_DIR": f"{home}/config",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}  # fmt: skip
    upstream = start_module("tests.servers.scripted_upstream")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        ports = [free_port(), free_port()]
        for port in ports:
            procs.append(start(
                [sys.executable, "-m", "prosa.cli.main", "serve", "--port", str(port), "--workers", "1", "--no-access-log",
                 "--upstream", upstream.base_url, "--cache", redis_url],
                env, f"http://127.0.0.1:{port}/healthz",
            ))  # fmt: skip
        for port in ports:  # one miss on the first replica; a hit everywhere after
            conn = http.client.HTTPConnection("127.0.0.1", port)
            conn.request(
                "POST", "/v1/chat/completions", json.dumps(QUESTION), {"Content-Type": "application/json"}
            )
            conn.getresponse().read()
        urls = [f"http://127.0.0.1:{p}/v1/chat/completions" for p in ports]
        one = wrk(urls[0], QUESTION, seconds, connections)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2) as pool:
            both = list(pool.map(lambda u: wrk(u, QUESTION, seconds, connections // 2), urls))
        total = sum(r["rps"] for r in both)
        print(f"gateway cached hits on Redis, {connections} connections, {seconds}s per run")
        print(f"  one replica   {one['rps']:9.0f} req/s  p50 {one['p50']:.2f} ms  p99 {one['p99']:.2f} ms")
        print(
            f"  two replicas  {total:9.0f} req/s  p99 {max(r['p99'] for r in both):.2f} ms  "
            f"({total / one['rps']:.2f}x one replica; 2 cores shared by both replicas, Redis and wrk)"
        )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)
        upstream.stop()
