"""`prosa serve` and `prosa models` as a new user meets them: a busy port, the access log, model lists."""

from __future__ import annotations

import json
import socket
import urllib.request

from tests.servers.gateway_proc import start_gateway, wait_until
from tests.support import free_port, run_prosa


def test_serve_on_a_busy_port_is_one_line_and_exit_1():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = run_prosa("serve", "--port", str(port), "--cache", "memory", timeout=60)
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        f"prosa: port {port} on 127.0.0.1 is already in use (another prosa serve?); stop that server "
        "or choose another port with --port"
    ]


def test_the_gateway_logs_one_line_per_request_and_lists_local_once(tmp_path):
    gw = start_gateway(tmp_path / "gw", "--cache", "memory")
    try:
        body = {
            "model": "local",
            "max_tokens": 2,
            "temperature": 0,
            "messages": [{"role": "user", "content": "Hi"}],
        }
        request = urllib.request.Request(
            gw.chat_url, json.dumps(body).encode(), {"content-type": "application/json"}
        )
        for _ in range(2):
            with urllib.request.urlopen(request, timeout=60) as r:
                assert r.status == 200
        wait_until(lambda: "POST /v1/chat/completions 200 hit" in gw.log(), what="the access log line")
        lines = [line for line in gw.log().splitlines() if "/v1/chat/completions" in line]
        assert lines[0].startswith("prosa: POST /v1/chat/completions 200 miss ") and lines[0].endswith(" ms")
        assert "127.0.0.1" not in "\n".join(lines)  # nothing about the caller

        # prosa models through a prosa gateway: the gateway's own 'local' is not listed a second time.
        listed = run_prosa("models", "--json", "--base-url", gw.base_url)
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout) == ["local"]
    finally:
        gw.stop()


def test_models_with_the_server_down_lists_local_and_warns():
    url = f"http://127.0.0.1:{free_port()}/v1"
    out = run_prosa("models", "--base-url", url)
    assert out.returncode == 0
    assert out.stdout == "local\n"
    assert out.stderr.splitlines() == [
        f"prosa: cannot reach {url}: connection refused; listing only the local model"
    ]
