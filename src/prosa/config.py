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


def _user_dir(kind: str, xdg: str, fallback: str) -> Path:
    if sys.platform.startswith("linux"):
        # The XDG rule platformdirs applies on Linux, without importing it (a few ms on every start).
        base = os.environ.get(xdg, "").strip()
        return Path(base if os.path.isabs(base) else os.path.expanduser(fallback)) / "prosa"
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")("prosa", appauthor=False))


def config_dir() -> Path:
    env = os.environ.get("PROSA_CONFIG_DIR")
    return Path(env) if env else _user_dir("config", "XDG_CONFIG_HOME", "~/.config")


def cache_dir() -> Path:
    env = os.environ.get("PROSA_CACHE_DIR")
    return Path(env) if env else _user_dir("cache", "XDG_CACHE_HOME", "~/.cache")


def config_path() -> Path:
    return config_dir() / "config.toml"


def keys_path() -> Path:
    return config_dir() / "keys.json"


def default_cache_path() -> Path:
    return cache_dir() / "cache.db"


class Settings(Record):
    """Everything prosa can be configured with. See the README's Configuration section."""

    __slots__ = (
        "openai_api_key",
        "openai_base_url",
        "timeout",
        "max_retries",
        "default_model",
        "local_model_path",
        "local_n_ctx",
        "local_max_tokens",
        "cache",
        "cache_nondeterministic",
        "cache_ttl",
        "cache_max_size_mb",
        "cache_semantic",
        "cache_semantic_threshold",
        "cache_semantic_embedder",
        "prices",
        "_sources",
    )

    def __init__(self) -> None:
        self.openai_api_key: str | None = None
        self.openai_base_url: str | None = None
        self.timeout: float = 60.0
        self.max_retries: int = 2
        self.default_model: str | None = None
        self.local_model_path: str | None = None
        self.local_n_ctx: int = 4096
        self.local_max_tokens: int = 512  # the local model's answer length when a request sets none
        self.cache: str | None = None
        self.cache_nondeterministic: bool = True
        self.cache_ttl: float | None = None
        self.cache_max_size_mb: float | None = None
        self.cache_semantic: bool = False  # serve answers to questions that mean the same (opt-in)
        self.cache_semantic_threshold: float | None = None  # None: the embedder's calibrated default
        self.cache_semantic_embedder: str | None = None  # None: the bundled MiniLM; or "openai[:MODEL]"
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

    def price(self, model: str) -> tuple[float, float]:
        return self.prices.get(model, (0.0, 0.0))


# config.toml layout -> Settings field
_FILE_KEYS = {
    ("openai", "base_url"): "openai_base_url",
    ("openai", "timeout"): "timeout",
    ("openai", "max_retries"): "max_retries",
    ("default_model",): "default_model",
    ("local", "model_path"): "local_model_path",
    ("local", "n_ctx"): "local_n_ctx",
    ("local", "max_tokens"): "local_max_tokens",
    ("cache", "store"): "cache",
    ("cache", "nondeterministic"): "cache_nondeterministic",
    ("cache", "ttl"): "cache_ttl",
    ("cache", "max_size_mb"): "cache_max_size_mb",
    ("cache", "semantic"): "cache_semantic",
    ("cache", "semantic_threshold"): "cache_semantic_threshold",
    ("cache", "semantic_embedder"): "cache_semantic_embedder",
}

_ENV_KEYS = {
    "OPENAI_API_KEY": "openai_api_key",
    "OPENAI_BASE_URL": "openai_base_url",
    "PROSA_TIMEOUT": "timeout",
    "PROSA_MODEL": "default_model",
    "PROSA_LOCAL_MODEL": "local_model_path",
    "PROSA_CACHE": "cache",
}

_TYPES = {
    "openai_api_key": "str",
    "openai_base_url": "str",
    "timeout": "float",
    "max_retries": "int",
    "default_model": "str",
    "local_model_path": "str",
    "local_n_ctx": "int",
    "local_max_tokens": "int",
    "cache": "str",
    "cache_nondeterministic": "bool",
    "cache_ttl": "float",
    "cache_max_size_mb": "float",
    "cache_semantic": "bool",
    "cache_semantic_threshold": "float",
    "cache_semantic_embedder": "str",
}


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
    data = read_config_file()
    for path, name in _FILE_KEYS.items():
        node: Any = data
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            _set(settings, name, node, f"config file {config_path()} ({'.'.join(path)})")
            settings._sources[name] = f"config file ({'.'.join(path)})"
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
            settings._sources["openai_api_key"] = "key store (prosa keys set openai)"
    for env, name in _ENV_KEYS.items():
        value = os.environ.get(env)
        if value:
            _set(settings, name, value, f"environment variable {env}")
            settings._sources[name] = f"environment ({env})"
    for name, value in overrides.items():
        if value is not None:
            _set(settings, name, value, name)
            settings._sources[name] = "argument"
    return settings


def _set(settings: Settings, name: str, value: Any, source: str) -> None:
    kind = _TYPES[name]
    try:
        if kind == "float" and not isinstance(value, bool):
            value = float(value)
        elif kind == "int" and not isinstance(value, bool):
            value = int(value)
        elif kind == "bool" and isinstance(value, str):
            value = value.lower() in ("1", "true", "yes", "on")
        elif kind == "bool" and not isinstance(value, bool):
            raise ValueError(name)
    except (TypeError, ValueError):
        what = "true or false" if kind == "bool" else "a number"
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
