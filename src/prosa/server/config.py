"""GatewayConfig: what `prosa serve` was asked to do, checked once, and carried to every worker process.

uvicorn starts each worker by importing the app factory, so the config travels as JSON in an
environment variable (only this user's processes can read another's environment).
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..config import Settings

ENV_VAR = "PROSA_SERVE_CONFIG"
KEYS_ENV = "PROSA_GATEWAY_KEYS"


@dataclass
class GatewayConfig:
    """Options of the gateway. ``keys`` are the access keys clients must present (none: open)."""

    host: str = "127.0.0.1"
    port: int = 8000
    upstream: str | None = None
    cache: str | None = None
    keys: list[str] = field(default_factory=list, repr=False)
    keys_file: str | None = None  # a keys file (prosa gateway-key create): SHA-256 digests, names, limits
    shared_cache: bool = False  # one cache for every key (else each tenant reads only its own answers)
    allowed_hosts: list[str] = field(default_factory=list)  # Host names answered besides loopback's
    cors_origins: list[str] = field(default_factory=list)  # other origins whose pages may call the gateway
    forward_key: bool = False
    workers: int = 1
    insecure: bool = False
    max_body: int = 1_000_000
    # /v1/responses: "passthrough" to an upstream that speaks it, "translate" to Chat Completions, or
    # "auto" (pass through to OpenAI's own API, translate for every other server).
    responses: str = "auto"
    access_log: bool = True  # one line per request on stderr: method, path, status, cache, time
    # How often the cache dashboard samples the counters (seconds), and how many samples it keeps.
    stats_interval: float = 10.0
    stats_points: int = 360

    @classmethod
    def from_args(cls, args: object) -> GatewayConfig:
        """From `prosa serve` arguments; access keys also come from PROSA_GATEWAY_KEYS (comma-separated)."""
        keys = [k for k in (getattr(args, "api_key", None) or []) if k]
        keys += [k.strip() for k in os.environ.get(KEYS_ENV, "").split(",") if k.strip()]
        interval = os.environ.get("PROSA_SERVE_STATS_INTERVAL")
        return cls(
            host=getattr(args, "host", "127.0.0.1"),
            port=getattr(args, "port", 8000),
            upstream=getattr(args, "upstream", None),
            cache=getattr(args, "cache", None),
            keys=keys,
            keys_file=os.path.abspath(args.keys) if getattr(args, "keys", None) else None,
            shared_cache=bool(getattr(args, "shared_cache", False)),
            allowed_hosts=list(getattr(args, "allowed_host", None) or []),
            cors_origins=list(getattr(args, "cors_origin", None) or []),
            forward_key=bool(getattr(args, "forward_key", False)),
            workers=getattr(args, "workers", 1),
            insecure=bool(getattr(args, "insecure", False)),
            max_body=getattr(args, "max_body", 1_000_000),
            responses=getattr(args, "responses", "auto"),
            access_log=bool(getattr(args, "access_log", True)),
            stats_interval=float(interval) if interval else 10.0,
        )

    def has_upstream(self, settings: Settings) -> bool:
        """Whether non-local models have a server: the configured one, or any with callers' own keys."""
        return settings.has_upstream or self.forward_key

    def check(self) -> None:
        """Refuse what cannot work or would be unsafe, with one line saying how to fix it."""
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port must be between 0 and 65535 (got {self.port})")
        if self.workers < 1:
            raise ConfigError(f"--workers must be at least 1 (got {self.workers})")
        if self.max_body < 1:
            raise ConfigError(f"--max-body must be at least 1 byte (got {self.max_body})")
        for origin in self.cors_origins:
            if origin.strip() in ("*", "null") or "://" not in origin:
                raise ConfigError(
                    f"--cors-origin takes an origin such as https://app.example.com (got {origin!r}); "
                    "a wildcard would let every web page use the gateway"
                )
        if self.keys_file:
            from .tenants import read_keys_file

            read_keys_file(
                Path(self.keys_file)
            )  # one line naming the file and entry, before any worker starts
        if not self.keys and not self.keys_file and not self.insecure and not is_loopback(self.host):
            raise ConfigError(
                f"refusing to listen on {self.host} without access keys: anyone on the network could use "
                "the upstream and the cache; pass --api-key KEY (or PROSA_GATEWAY_KEYS), or --insecure"
            )

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> GatewayConfig:
        raw = os.environ.get(ENV_VAR)
        return cls(**json.loads(raw)) if raw else cls()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
