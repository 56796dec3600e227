"""Test support: free ports, readiness polling, real servers in subprocesses, the prosa CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM_KEY = "sk-test-upstream-4b1d9e"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(
    url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 60.0, headers: dict | None = None
) -> None:
    """Poll until the URL answers (any HTTP status), or fail with the server's output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"server exited with {proc.returncode}: {out[-2000:]}")
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up within {timeout}s")


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


class Server:
    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc, self.port = proc, port
        self.url = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.url}/v1"

    def count(self) -> int:
        return int(get_json(f"{self.url}/test/count")["chat"])

    def counts(self) -> dict:
        return get_json(f"{self.url}/test/count")

    def last(self) -> dict:
        """The scripted upstream's last request body, as it received it."""
        return get_json(f"{self.url}/test/last")

    def stop(self) -> None:
        stop_process(self.proc)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Ask a server process to stop; kill it if it has not within 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def start_module(module: str, *args: str, ready: str = "/test/count") -> Server:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join((str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", ""))),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", module, str(port), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    server = Server(proc, port)
    try:
        wait_http(server.url + ready, proc)
    except Exception:
        server.stop()
        raise
    return server


class RedisServer:
    """redis-server from PATH on a free loopback port; can be killed and started again on that port."""

    def __init__(self, *extra: str) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.extra = extra  # more redis-server options, e.g. ("--cluster-enabled", "yes")

    def pause(self) -> None:
        """SIGSTOP: the server hangs, its port still accepting connections (the nastiest failure)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def start(self) -> None:
        import shutil

        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError(
                "redis-server is not installed (apt-get install redis-server); the Redis tests need it"
            )
        self.proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--enable-debug-command",
                "local",
                *self.extra,
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def flush(self) -> None:
        import redis

        redis.Redis.from_url(self.url).flushall()


def run_prosa(
    *args: str, input: str | None = None, env: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The real `prosa` console script in a subprocess."""
    exe = Path(sys.executable).parent / "prosa"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "prosa.cli.main"]
    return subprocess.run(
        [*cmd, *args],
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


class RedisCluster:
    """A real 3-master Redis Cluster on loopback (no replicas): three redis-server processes with
    ``--cluster-enabled yes``, joined by ``redis-cli --cluster create``. ``url`` names one node."""

    def __init__(self, workdir: Path, masters: int = 3) -> None:
        self.workdir = workdir
        self.nodes = [RedisServer() for _ in range(masters)]
        for node in self.nodes:  # a cluster node also listens on port + 10000 (the cluster bus)
            node.port = _cluster_port()
            node.url = f"redis://127.0.0.1:{node.port}/0"
        self.url = f"redis+cluster://127.0.0.1:{self.nodes[0].port}/0"
        self.node_url = self.nodes[0].url  # a plain redis:// URL of one node: prosa detects the cluster

    def start(self) -> None:
        import shutil

        for node in self.nodes:
            conf = self.workdir / f"nodes-{node.port}.conf"
            node.extra = (
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                str(conf),
                "--dir",
                str(self.workdir),
            )
            node.start()
        cli = shutil.which("redis-cli")
        if cli is None:
            raise RuntimeError(
                "redis-cli is not installed (apt-get install redis-tools); the cluster tests need it"
            )
        addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
        subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # every node agrees the cluster is up
            states = [
                subprocess.run(
                    [cli, "-p", str(n.port), "cluster", "info"], capture_output=True, text=True
                ).stdout
                for n in self.nodes
            ]
            if all("cluster_state:ok" in s for s in states):
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis cluster did not reach cluster_state:ok")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def flush(self) -> None:
        import redis

        for node in self.nodes:
            redis.Redis(port=node.port).flushall()


def _cluster_port() -> int:
    """A free loopback port whose cluster-bus twin (port + 10000) is free too."""
    import random

    for _ in range(200):
        port = random.randint(20000, 45000)
        try:
            for p in (port, port + 10000):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a Redis cluster node")
