"""`prosa serve` as a real subprocess for tests: its own prosa home, a free loopback port, its log in a file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support import ROOT, free_port, stop_process, wait_http

# Ambient settings that would leak into a gateway from the developer's environment.
AMBIENT = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PROSA_CACHE", "PROSA_MODEL", "PROSA_LOCAL_MODEL",
           "PROSA_LOG", "PROSA_GATEWAY_KEYS")  # fmt: skip


class Gateway:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, home: Path) -> None:
        self.proc, self.port, self.home = proc, port, home
        self.url = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.url}/v1"
        self.chat_url = f"{self.base_url}/chat/completions"
        self.log_path = home / "gateway.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def metric(self, name: str, headers: dict | None = None) -> float:
        """One sample of /metrics (0 when absent), e.g. 'prosa_gateway_cache_total{result="hit"}'."""
        request = urllib.request.Request(f"{self.url}/metrics", headers=headers or {})
        with urllib.request.urlopen(request, timeout=10) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.rsplit(" ", 1)[1])
        return 0.0

    def stop(self) -> None:
        stop_process(self.proc)


def start_gateway(home: Path, *args: str, env: dict[str, str] | None = None, config: str = "") -> Gateway:
    """Start `prosa serve --port N ARGS...` with PROSA_CONFIG_DIR/PROSA_CACHE_DIR under ``home``.

    ``config`` is written to the gateway's config.toml (e.g. "[openai]\\nmax_retries = 0").
    """
    home.mkdir(parents=True, exist_ok=True)
    (home / "config").mkdir(exist_ok=True)
    if config:
        (home / "config" / "config.toml").write_text(config)
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if k not in AMBIENT}
    full_env.update({
        "PROSA_CONFIG_DIR": str(home / "config"),
        "PROSA_CACHE_DIR": str(home / "cache"),
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        **(env or {}),
    })  # fmt: skip
    log = open(home / "gateway.log", "wb")  # noqa: SIM115 - the child process keeps it open
    proc = subprocess.Popen(
        [sys.executable, "-m", "prosa.cli.main", "serve", "--port", str(port), *args],
        cwd=ROOT, env=full_env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    gateway = Gateway(proc, port, home)
    try:
        wait_http(f"{gateway.url}/healthz", proc, timeout=60)
    except Exception as e:
        gateway.stop()
        raise RuntimeError(f"{e}\n{gateway.log()[-2000:]}") from None
    return gateway


def wait_until(check: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    """Poll ``check`` until it is true (bounded), instead of sleeping a fixed time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"{what} not reached within {timeout}s")


def sse_events(lines: list[str]) -> list[dict]:
    """The JSON events of an SSE body (without the final [DONE])."""
    return [json.loads(line[6:]) for line in lines if line.startswith("data: {")]


def answer_text(response: Any) -> str:
    """The answer's text from a chat completion response, whole (JSON) or streamed (SSE)."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        events = sse_events(response.text.splitlines())
        return "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
    return str(response.json()["choices"][0]["message"]["content"])
