"""EmbedRequest: one validated embeddings request, shared by the library, the CLI and the gateway.

``input`` is a string, a list of strings, a token array (list of ints) or a list of token arrays,
as in OpenAI's API. Every other field reaches the upstream as sent; all but the unkeyed ones
(``user``...) are in the key of each input's cached vector, ``dimensions`` included.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..errors import InvalidRequest
from ..messages import plain
from ..params import UNKEYED

MAX_INPUTS = 16_384  # per request; what goes upstream is split into OpenAI's batches of 2,048
UPSTREAM_BATCH = 2048
LOCAL_EMBED_NAMES = ("local", "minilm")
_KEY_VERSION = b"prosa-embed-1"
_SORTED = json.JSONEncoder(separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode


class EmbedRequest:
    """The inputs (each a string or a list of token ids), the model, and the other fields."""

    __slots__ = ("inputs", "model", "params", "single")

    def __init__(self, inputs: list[Any], model: str, params: dict[str, Any], single: bool) -> None:
        self.inputs, self.model, self.params, self.single = inputs, model, params, single

    @classmethod
    def build(cls, input: Any, *, model: str, **params: Any) -> EmbedRequest:  # noqa: A002 - the API's name
        if not isinstance(model, str) or not model.strip():
            raise InvalidRequest("model must be a non-empty string such as 'local'", "model")
        single = isinstance(input, str) or (isinstance(input, list) and bool(input) and _is_tokens(input))
        inputs = [input] if single else input
        if not isinstance(inputs, (list, tuple)) or not inputs:
            raise InvalidRequest(
                "input must be a string, a list of strings or a list of token arrays", "input"
            )
        if len(inputs) > MAX_INPUTS:
            raise InvalidRequest(
                f"input takes at most {MAX_INPUTS} items per request (got {len(inputs)})", "input"
            )
        for i, item in enumerate(inputs):
            if isinstance(item, str):
                if not item:
                    raise InvalidRequest(f"input[{i}] must not be empty", f"input[{i}]")
            elif not (isinstance(item, list) and item and _is_tokens(item)):
                raise InvalidRequest(
                    f"input[{i}] must be a non-empty string or a non-empty list of token ids", f"input[{i}]"
                )
        clean: dict[str, Any] = {}
        for name, value in params.items():
            if value is None:
                continue
            if name == "dimensions" and (type(value) is not int or value < 1):
                raise InvalidRequest(f"dimensions must be an integer >= 1 (got {value!r})", "dimensions")
            if name == "encoding_format" and value not in ("float", "base64"):
                raise InvalidRequest(
                    f"encoding_format must be float or base64 (got {value!r})", "encoding_format"
                )
            clean[name] = plain(value, name)
        model = model.strip()
        if model.lower() in LOCAL_EMBED_NAMES:
            model = "local"  # one name for the bundled model, so its aliases share cached vectors
        return cls(list(inputs), model, clean, single)

    @property
    def encoding_format(self) -> str:
        return self.params.get("encoding_format", "float")

    def upstream_params(self) -> dict[str, Any]:
        """The fields sent upstream with the inputs (prosa asks for base64: exact float32, less to parse)."""
        return {
            **{k: v for k, v in self.params.items() if k != "encoding_format"},
            "encoding_format": "base64",
        }

    def keys(self, identity: str, scope: str = "") -> list[str]:
        """One cache key per input: whose cache (``scope``: a tenant and/or namespace), the model server,
        the model, every keyed field, the input itself."""
        keyed = {k: v for k, v in self.params.items() if k not in UNKEYED and k != "encoding_format"}
        prefix = hashlib.sha256(_KEY_VERSION)
        for part in (scope, identity, self.model, _SORTED(keyed)):
            prefix.update(part.encode("utf-8", "surrogatepass"))
            prefix.update(b"\x00")
        out = []
        for item in self.inputs:
            h = prefix.copy()
            h.update(
                item.encode("utf-8", "surrogatepass") if isinstance(item, str) else _SORTED(item).encode()
            )
            out.append(h.hexdigest())
        return out


def _is_tokens(value: list[Any]) -> bool:
    return all(type(t) is int and t >= 0 for t in value)
