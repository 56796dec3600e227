"""Settings and API keys, resolved as: arguments > environment > config file > defaults.

The config file is ``config.toml`` in the user config dir (``prosa config path``); keys live apart
from it in ``keys.json`` (mode 0600) so a config file can be shared without leaking a secret.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from ._record import Record
from .errors import ConfigError

OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"

# USD per 1M tokens (input, output). Override or extend under [prices] in config.toml.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
}


def user_dir(kind: str, env: str, xdg: str, fallback: str) -> Path:
    """One of prosa's user dirs: the ``env`` variable's path when set, else the platform's ``kind`` dir."""
    chosen = os.environ.get(env)
    if chosen:
        return Path(chosen)
    if sys.platform.startswith("linux"):
        # The XDG rule platformdirs applies on Linux, without importing it (a few ms on every start).
        base = os.environ.get(xdg, "").strip()
        return Path(base if os.path.isabs(base) else os.path.expanduser(fallback)) / "prosa"
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")("prosa", appauthor=False))


def config_dir() -> Path:
    return user_dir("config", "PROSA_CONFIG_DIR", "XDG_CONFIG_HOME", "~/.config")


def cache_dir() -> Path:
    return user_dir("cache", "PROSA_CACHE_DIR", "XDG_CACHE_HOME", "~/.cache")


def config_path() -> Path:
    return config_dir() / "config.toml"


def keys_path() -> Path:
    return config_dir() / "keys.json"


def default_cache_path() -> Path:
    return cache_dir() / "cache.db"


class Field(Record):
    """One setting, declared once: everything that reads, parses, shows or documents it comes from here.

    ``path`` is where it lives in config.toml ("local.n_ctx"), ``env`` its environment variable (or
    None), ``kind`` the type a value is parsed into (str values are taken as given), ``shown`` how
    ``prosa config show`` words a default of None.
    """

    __slots__ = ("name", "env", "path", "kind", "default", "shown", "doc")

    def __init__(
        self,
        name: str,
        env: str | None,
        path: str | None,
        kind: type,
        default: Any,
        doc: str,
        shown: Any = None,
    ) -> None:
        self.name, self.env, self.path, self.kind = name, env, path, kind
        self.default, self.doc, self.shown = default, doc, shown


# In the order `prosa config show` lists them. The README's Configuration section documents each
# environment variable and config path (tests/test_config.py checks it still does).
FIELDS = (
    Field("default_model", "PROSA_MODEL", "default_model", str, None,
          "the model when a request names none (None: gpt-4o-mini with an OpenAI key, else local)"),
    Field("openai_api_key", "OPENAI_API_KEY", None, str, None,
          "the OpenAI key; else the key store's (prosa keys set openai)", "none"),
    Field("openai_base_url", "OPENAI_BASE_URL", "openai.base_url", str, None,
          "an OpenAI-compatible server (None: OpenAI's)", OPENAI_BASE_URL),
    Field("timeout", "PROSA_TIMEOUT", "openai.timeout", float, 60.0, "seconds to wait for the server"),
    Field("max_retries", None, "openai.max_retries", int, 2, "retries of a failed call to the server"),
    Field("local_model_path", "PROSA_LOCAL_MODEL", "local.model_path", str, None,
          "the local model's GGUF file (None: the bundled SmolLM2-135M)"),
    Field("local_n_ctx", None, "local.n_ctx", int, 4096, "the local model's context window"),
    Field("local_max_tokens", None, "local.max_tokens", int, 512,
          "the local model's answer length when a request sets none"),
    Field("cache", "PROSA_CACHE", "cache.store", str, None,
          "the cache spec (None: the library has none; the CLI and the gateway use sqlite)"),
    Field("cache_nondeterministic", None, "cache.nondeterministic", bool, True,
          "cache answers to requests with a temperature above 0 too"),
    Field("cache_ttl", None, "cache.ttl", float, None, "seconds an entry lives", "none (entries never expire)"),
    Field("cache_max_size_mb", None, "cache.max_size_mb", float, None, "the store's size limit",
          "none (no limit)"),
    Field("cache_semantic", None, "cache.semantic", bool, False,
          "serve answers to questions that mean the same (opt-in)"),
    Field("cache_semantic_threshold", None, "cache.semantic_threshold", float, None,
          "the similarity a semantic candidate needs (None: the embedder's calibrated default)",
          "0.55 with the verifier, 0.86 without (MiniLM's calibration)"),
    Field("cache_semantic_strictness", None, "cache.semantic_strictness", str, None,
          'how sure the verifier must be: "strict", "balanced", "lenient" or a probability', "strict"),
    Field("cache_semantic_embedder", None, "cache.semantic_embedder", str, None,
          'the semantic embedder (None: the bundled MiniLM; or "openai[:MODEL]")', "minilm"),
)  # fmt: skip

_FIELD = {f.name: f for f in FIELDS}


class Settings(Record):
    """Everything prosa can be configured with: one attribute per entry of :data:`FIELDS`, plus
    ``prices`` (USD per 1M tokens by model). See the README's Configuration section."""

    __slots__ = (*[f.name for f in FIELDS], "prices", "_sources")

    def __init__(self) -> None:
        for f in FIELDS:
            setattr(self, f.name, f.default)
        self.prices: dict[str, tuple[float, float]] = dict(DEFAULT_PRICES)
        self._sources: dict[str, str] = {}  # setting -> where its value came from, when not the default

    def source(self, name: str) -> str:
        """Where a setting's value came from: "default", "config file (local.n_ctx)", "environment (X)"..."""
        return self._sources.get(name, "default")

    def __repr__(self) -> str:
        shown = {**self.as_dict(), "openai_api_key": "***" if self.openai_api_key else None}
        return f"Settings({shown})"

    @property
    def base_url(self) -> str:
        return (self.openai_base_url or OPENAI_BASE_URL).rstrip("/")

    @property
    def is_openai_host(self) -> bool:
        return self.base_url == OPENAI_BASE_URL

    @property
    def has_upstream(self) -> bool:
        """Whether a server answers the non-local models: OpenAI with a key, or any other base URL
        (a self-hosted server or another gateway may need no key)."""
        return bool(self.openai_api_key) or not self.is_openai_host

    def model_for(self, provider: str | None = None) -> str:
        """The model a request that names none goes to: the configured one, else gpt-4o-mini on OpenAI
        (``provider`` "openai", or no provider chosen and a key set), else the embedded local model."""
        if self.default_model:
            return self.default_model
        if provider == "openai" or (provider is None and self.openai_api_key):
            return DEFAULT_OPENAI_MODEL
        return "local"

    def cli_cache(self, option: str | None) -> str:
        """The cache of the CLI and the gateway: the command line's, else the configured one, else the
        SQLite file in the user cache dir. (The library's default is no cache.)"""
        return option or self.cache or "sqlite"


def cost_usd(prices: dict[str, tuple[float, float]], model: str, usage: Any) -> float:
    """What ``usage`` (its prompt and completion tokens) costs on ``model`` at ``prices`` (USD per 1M
    tokens); 0 for a model without a price. What a hit saved is what its entry cost."""
    price_in, price_out = prices.get(model, (0.0, 0.0))
    return (usage.prompt_tokens * price_in + usage.completion_tokens * price_out) / 1e6


def read_config_file(path: Path | None = None) -> dict[str, Any]:
    path = path or config_path()
    if not path.exists():
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read config file {path}: {e}; fix or remove it") from None


def load_settings(**overrides: Any) -> Settings:
    """Settings from defaults, then the config file, then the environment, then ``overrides``."""
    settings = Settings()
    sources = settings._sources
    data = read_config_file()
    for f in FIELDS:
        if f.path is None:
            continue
        node: Any = data
        for part in f.path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            _set(settings, f.name, node, f"config file {config_path()} ({f.path})")
            sources[f.name] = f"config file ({f.path})"
    for model, price in (data.get("prices") or {}).items():
        try:
            settings.prices[model] = (float(price["input"]), float(price["output"]))
        except (TypeError, KeyError, ValueError):
            raise ConfigError(
                f"config file {config_path()}: prices.{model} needs numeric 'input' and 'output' (USD per 1M tokens)"
            ) from None
    if settings.openai_api_key is None:
        settings.openai_api_key = read_keys().get("openai")
        if settings.openai_api_key is not None:
            sources["openai_api_key"] = "key store (prosa keys set openai)"
    for f in FIELDS:
        value = os.environ.get(f.env) if f.env else None
        if value:
            _set(settings, f.name, value, f"environment variable {f.env}")
            sources[f.name] = f"environment ({f.env})"
    for name, value in overrides.items():
        if value is not None:
            _set(settings, name, value, name)
            sources[name] = "argument"
    return settings


_BOOL_TEXT = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
}


def _set(settings: Settings, name: str, value: Any, source: str) -> None:
    kind = _FIELD[name].kind
    try:
        if kind is bool:
            if isinstance(value, str) and value.strip().lower() in _BOOL_TEXT:
                value = _BOOL_TEXT[value.strip().lower()]
            elif not isinstance(value, bool):
                raise ValueError(name)  # "lots" is neither: an error, not a silent false
        elif kind is not str and not isinstance(value, bool):
            value = kind(value)  # float or int, from a number or its text
    except (TypeError, ValueError):
        what = "true or false" if kind is bool else "a number"
        raise ConfigError(f"{source}: {name} must be {what} (got {value!r})") from None
    setattr(settings, name, value)


def read_keys() -> dict[str, str]:
    path = keys_path()
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        raise ConfigError(
            f"key file {path} is unreadable or not JSON; remove it and run `prosa keys set`"
        ) from None
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def write_keys(keys: dict[str, str]) -> Path:
    """Write the key file atomically with mode 0600 (never readable by other users, even briefly)."""
    path = keys_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(keys, f, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def redact(text: str, *secrets: str | None) -> str:
    """Replace every secret (and its usual masked forms' visible parts) in text."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text
