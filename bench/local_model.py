"""The embedded model: prosa's local provider vs raw llama-cpp-python, same model, prompt and run.

Prints tokens/s and time to first token (TTFT) for both. Targets: >= 95% of raw throughput,
TTFT within 5 ms of raw. Runs alternate between the two (and which goes first), and the model's KV
cache is reset before each run so neither side reuses the other's prompt evaluation.
Run: python bench/local_model.py [--runs 5] [--max-tokens 128]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import row  # noqa: E402

from prosa import Client  # noqa: E402
from prosa.providers.local import REPEAT_PENALTY  # noqa: E402

PROMPT = [
    {"role": "system", "content": "You are a patient teacher."},
    {"role": "user", "content": "Explain what a large language model is, in a few paragraphs."},
]


def measure(stream_factory) -> tuple[float, float, int]:
    """(ttft_ms, tokens_per_s over the generation after the first token, chunks)."""
    start = time.perf_counter()
    first = None
    count = 0
    for _ in stream_factory():
        count += 1
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    assert first is not None
    return (first - start) * 1000, (count - 1) / (end - first), count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()

    client = Client("local", cache=None)
    provider = client.provider_for("local")
    llm = provider._llama()  # the very model object prosa uses
    n = args.max_tokens

    def raw():
        for event in llm.create_chat_completion(
            PROMPT, stream=True, max_tokens=n, temperature=0, repeat_penalty=REPEAT_PENALTY
        ):
            if event["choices"][0]["delta"].get("content"):
                yield event

    def prosa():
        for chunk in client.chat(PROMPT, stream=True, max_tokens=n, temperature=0):
            if chunk.text:
                yield chunk

    measure(raw)  # warm-up both paths
    measure(prosa)
    results: dict[str, list[tuple[float, float, int]]] = {"raw": [], "prosa": []}
    pair = [("raw", raw), ("prosa", prosa)]
    for i in range(args.runs):
        # Alternate who goes first: run-to-run drift on a shared 2-core box is a few ms either way.
        for name, factory in pair if i % 2 == 0 else pair[::-1]:
            llm.reset()
            results[name].append(measure(factory))
    raw_ttft = statistics.median(r[0] for r in results["raw"])
    raw_tps = statistics.median(r[1] for r in results["raw"])
    p_ttft = statistics.median(r[0] for r in results["prosa"])
    p_tps = statistics.median(r[1] for r in results["prosa"])
    print(f"local model: {provider.name}, {args.runs} runs each, {n} max tokens, medians")
    row("raw llama-cpp-python: tokens/s", raw_tps, "tok/s")
    row(
        "prosa Client (local provider): tokens/s",
        p_tps,
        "tok/s",
        p_tps / raw_tps,
        "of raw",
        "target >= 0.95x",
    )
    row("raw llama-cpp-python: time to first token", raw_ttft, "ms")
    row(
        "prosa Client: time to first token",
        p_ttft,
        "ms",
        None,
        "",
        f"{p_ttft - raw_ttft:+.1f} ms vs raw (target <= 5)",
    )


if __name__ == "__main__":
    main()
