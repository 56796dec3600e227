"""The one-time notice about the embedded model: what it is, what it is good for, how to use a better one.

Shown on stderr the first time the bundled model answers on this machine (a marker file in the user
cache dir remembers it), then never again: not on every run, not on a cache hit, and never before a
validation error, since it is printed only once a request is being answered.
"""

from __future__ import annotations

import sys
import threading

from .config import cache_dir

MARKER = "local-model-notice"
TEXT = (
    "prosa: answering with the embedded SmolLM2-135M, a demo-size model: fine for trying prosa offline "
    "and for short, simple text, often wrong on facts and sums.\n"
    "prosa: for better answers use a server (OPENAI_API_KEY, or OPENAI_BASE_URL, and -m MODEL) or a 1-3B "
    "GGUF file (PROSA_LOCAL_MODEL=/path/model.gguf); see 'Which model?' in the README. (Shown once.)"
)

_lock = threading.Lock()
_shown = False


def local_model_notice() -> None:
    """Print the notice unless this process or an earlier one on this machine already has."""
    global _shown
    with _lock:
        if _shown:
            return
        _shown = True
        marker = cache_dir() / MARKER
        if marker.exists():
            return
        print(TEXT, file=sys.stderr, flush=True)
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text("the notice about the embedded model was shown\n")
        except OSError:
            pass  # a read-only home: the notice shows again next time, which is better than failing
