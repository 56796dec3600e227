"""Small helpers shared by the benchmark scripts: subprocess wall times and percentiles."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

PYTHON = sys.executable
BIN = Path(PYTHON).parent


def wall_ms(cmd: Sequence[str], runs: int = 15, env: dict | None = None, warmup: int = 2) -> float:
    """Median wall time of a whole command, in milliseconds."""
    full_env = {**os.environ, **(env or {})}
    # Measure as an installed program runs: with its bytecode cached (some shells export this).
    full_env.pop("PYTHONDONTWRITEBYTECODE", None)
    times = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=full_env, check=True)
        if i >= warmup:
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def per_call_us(fn: Callable[[], object], n: int, warmup: int = 200) -> list[float]:
    """Microseconds per call for n calls."""
    for _ in range(warmup):
        fn()
    out = []
    clock = time.perf_counter_ns
    for _ in range(n):
        t = clock()
        fn()
        out.append((clock() - t) / 1000)
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def row(
    name: str, value: float, unit: str, ratio: float | None = None, floor: str = "", target: str = ""
) -> None:
    ratio_text = f"{ratio:6.2f}x {floor}" if ratio is not None else ""
    print(f"  {name:<52} {value:10.1f} {unit:<5} {ratio_text:<28} {target}")
