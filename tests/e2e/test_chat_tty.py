"""`prosa chat` on a real terminal (a pty): Ctrl-C stops the answer and keeps the session; Ctrl-D leaves."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path


def spawn_on_pty(*args: str) -> tuple[subprocess.Popen[bytes], int]:
    """Run prosa with a pty as its controlling terminal, so Ctrl-C typed there is a real SIGINT."""
    master, slave = pty.openpty()
    exe = Path(sys.executable).parent / "prosa"
    # util-linux's setsid makes the pty the controlling terminal; a preexec_fn could do it too, but
    # running Python between fork and exec in a threaded test process can deadlock the child.
    proc = subprocess.Popen(
        ["setsid", "--ctty", "--wait", str(exe), *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "OPENAI_API_KEY": "k"},
    )
    os.close(slave)
    return proc, master


_pending: dict[int, bytes] = {}


def read_until(fd: int, needle: bytes, timeout: float = 30) -> bytes:
    """Everything up to and including ``needle``; what was read past it is kept for the next call."""
    out = _pending.pop(fd, b"")
    deadline = time.monotonic() + timeout
    while needle not in out:
        if time.monotonic() > deadline:
            raise AssertionError(f"did not see {needle!r} in {out[-500:]!r}")
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
    end = out.find(needle) + len(needle)
    _pending[fd] = out[end:]
    return out[:end]


def test_ctrl_c_stops_the_answer_and_keeps_the_conversation(scripted_upstream):
    proc, fd = spawn_on_pty("chat", "-m", "echo", "--base-url", scripted_upstream.base_url, "--no-cache")
    try:
        read_until(fd, b"> ")
        os.write(fd, b"first question\r")
        read_until(fd, b"last=first question")
        read_until(fd, b"> ")
        os.write(fd, b"/system be brief\r")
        read_until(fd, b"system prompt set")
        os.write(fd, b"second question\r")
        seen = read_until(fd, b"last=second question")
        assert b"messages=4 roles=system,user,assistant,user" in seen  # history kept, system prompt first
        read_until(fd, b"> ")
        os.write(fd, b"\x04")  # Ctrl-D leaves
        assert proc.wait(20) == 0
    finally:
        proc.kill()
        os.close(fd)
        _pending.pop(fd, None)


def test_ctrl_c_mid_answer_keeps_the_session(scripted_upstream):
    proc, fd = spawn_on_pty("chat", "-m", "drip", "--base-url", scripted_upstream.base_url, "--no-cache")
    try:
        read_until(fd, b"> ")
        os.write(fd, b"go slowly\r")
        read_until(fd, b" w2")
        os.write(fd, b"\x03")  # Ctrl-C while the answer is being written
        out = read_until(fd, b"> ")
        assert b"(stopped)" in out and b"w19" not in out
        os.write(fd, b"/exit\r")
        assert proc.wait(20) == 0
    finally:
        proc.kill()
        os.close(fd)
        _pending.pop(fd, None)


def test_help_command_and_a_newline_after_ctrl_d(scripted_upstream):
    proc, fd = spawn_on_pty("chat", "-m", "echo", "--base-url", scripted_upstream.base_url, "--no-cache")
    try:
        read_until(fd, b"> ")
        os.write(fd, b"/help\r")
        out = read_until(fd, b"> ")
        assert b"/reset to start over" in out and b"unknown command" not in out
        os.write(fd, b"\x04")  # Ctrl-D at the prompt
        assert proc.wait(20) == 0
        rest = _pending.pop(fd, b"")
        while True:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                break
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            rest += chunk
        # The terminal echoes ^D as nothing; what prosa writes after it must end the line.
        assert rest.endswith(b"\r\n") or rest.endswith(b"\n"), rest
    finally:
        proc.kill()
        os.close(fd)
        _pending.pop(fd, None)
