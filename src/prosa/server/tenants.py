"""Tenants of a shared gateway: who a request comes from, which cache it reads, what it may do.

Every access key is a tenant. Keys come from a keys file (``prosa serve --keys keys.toml``, written by
``prosa gateway-key create``), where each is kept as a SHA-256 digest with a name, an optional
namespace shared on purpose with other keys, the models it may use and a requests-per-minute limit;
or from ``--api-key``/``PROSA_GATEWAY_KEYS`` (anonymous tenants named by a short digest). A request is
matched to its tenant by the digest of the key it presents: one hash and one dict lookup, and no
structure here holds a key in clear.

A tenant's answers are cached in its own scope (its namespace, by default its name): the same
question under another key is a miss. ``--shared-cache`` puts every tenant in the common cache.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import time
from pathlib import Path

from ..cache.controls import NAME_RE
from ..errors import ConfigError

MAX_TENANT_COUNTERS = 1000  # tenants labelled in /metrics; more (forwarded keys) are counted as "other"
_DIGEST_RE = re.compile(r"[0-9a-f]{64}")


class TenantCounters:
    """What one tenant has done in this process (for /metrics)."""

    __slots__ = ("requests", "hits", "misses", "bypasses", "tokens_saved", "usd_saved")

    def __init__(self) -> None:
        self.requests = self.hits = self.misses = self.bypasses = self.tokens_saved = 0
        self.usd_saved = 0.0


class Tenant:
    """One access key's identity and limits. ``scope`` is the cache it reads and writes ("" = shared)."""

    __slots__ = ("name", "scope", "models", "rpm", "admin", "counters", "_allowance", "_at", "_checked")

    def __init__(
        self,
        name: str,
        scope: str,
        models: tuple[str, ...] | None = None,
        rpm: int | None = None,
        admin: bool = False,
    ) -> None:
        self.name, self.scope, self.models, self.rpm, self.admin = name, scope, models, rpm, admin
        self.counters = TenantCounters()
        self._allowance = float(rpm or 0)
        self._at = time.monotonic()
        self._checked: dict[str, bool] = {}

    def allows(self, model: str) -> bool:
        """Whether this key may use ``model``: an exact name, or a pattern ending in ``*`` (``gpt-4o*``)."""
        if self.models is None:
            return True
        found = self._checked.get(model)
        if found is None:
            found = any(model == m or (m.endswith("*") and model.startswith(m[:-1])) for m in self.models)
            if len(self._checked) < 1024:
                self._checked[model] = found
        return found

    def wait(self) -> int:
        """0 if a request may go now (and count it), else the seconds until one may (a token bucket
        holding ``rpm`` requests, refilled continuously: bursts up to rpm, rpm per minute on average)."""
        rpm = self.rpm
        if not rpm:
            return 0
        now = time.monotonic()
        allowance = min(float(rpm), self._allowance + (now - self._at) * rpm / 60.0)
        self._at = now
        if allowance < 1.0:
            self._allowance = allowance
            return max(1, math.ceil((1.0 - allowance) * 60.0 / rpm))
        self._allowance = allowance - 1.0
        return 0


def digest(key: str | bytes) -> bytes:
    return hashlib.sha256(key.encode() if isinstance(key, str) else key).digest()


def short_name(key: str) -> str:
    """An anonymous tenant's name: a short digest of its key (never the key)."""
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:8]


class Tenants:
    """The gateway's tenants, found by the digest of the key a request presents."""

    def __init__(self, by_digest: dict[bytes, Tenant], shared: bool, open_tenant: Tenant) -> None:
        self.by_digest = by_digest
        self.shared = shared
        self.open = open_tenant  # the tenant of every request when the gateway has no keys
        self.required = bool(by_digest)
        self._callers: dict[bytes, Tenant] = {}
        self.all: list[Tenant] = list(by_digest.values()) if by_digest else [open_tenant]

    @classmethod
    def from_config(cls, keys: list[str], keys_file: str | None, shared: bool) -> Tenants:
        """Tenants from plain keys (--api-key, PROSA_GATEWAY_KEYS) and a keys file; raise ConfigError."""
        by_digest: dict[bytes, Tenant] = {}
        for key in keys:
            name = short_name(key)
            # Operators' keys (the gateway's former single kind): they may read every metric.
            by_digest[digest(key)] = Tenant(name, "" if shared else name, admin=True)
        if keys_file:
            for key_digest, tenant in read_keys_file(Path(keys_file)):
                if shared:
                    tenant.scope = ""
                by_digest[key_digest] = tenant
        return cls(by_digest, shared, Tenant("open", "", admin=True))

    def find(self, key: bytes) -> Tenant | None:
        return self.by_digest.get(hashlib.sha256(key).digest()) if key else None  # one hash per request

    def caller(self, upstream_key: str) -> Tenant:
        """With --forward-key: the tenant of a caller's upstream key (named by a digest of it)."""
        d = digest(upstream_key)
        tenant = self._callers.get(d)
        if tenant is None:
            name = "caller-" + d.hex()[:16]
            tenant = Tenant(name, "" if self.shared else name, admin=not self.required)
            if len(self._callers) >= 100_000:
                self._callers.clear()  # bounded; a forgotten caller only gets fresh counters
            self._callers[d] = tenant
            if len(self.all) < MAX_TENANT_COUNTERS:
                self.all.append(tenant)
            else:
                tenant.counters = self.other_counters()
        return tenant

    def other_counters(self) -> TenantCounters:
        other = next((t for t in self.all if t.name == "other"), None)
        if other is None:
            other = Tenant("other", "")
            self.all.append(other)
        return other.counters


def read_keys_file(path: Path) -> list[tuple[bytes, Tenant]]:
    """The keys of a keys file; raise ConfigError naming the file and entry on anything wrong."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(
            f"keys file {path} not found; create one with `prosa gateway-key create NAME --keys {path}`"
        ) from None
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read keys file {path}: {e}") from None
    entries = data.get("keys", [])
    if not isinstance(entries, list):
        raise ConfigError(f"keys file {path}: write each key as a [[keys]] table")
    out: list[tuple[bytes, Tenant]] = []
    names: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"keys file {path}, key {i + 1}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: write each key as a [[keys]] table")
        name, hexdigest = entry.get("name"), entry.get("sha256")
        if not isinstance(name, str) or NAME_RE.fullmatch(name) is None:
            raise ConfigError(
                f"{where}: name must be 1-64 letters, digits, '.', '_' or '-' (got {name!r:.40})"
            )
        if name in names:
            raise ConfigError(f"{where}: the name {name!r} is used twice; names must be unique")
        names.add(name)
        if not isinstance(hexdigest, str) or _DIGEST_RE.fullmatch(hexdigest) is None:
            raise ConfigError(
                f"{where}: sha256 must be the key's SHA-256 digest, 64 lowercase hex characters"
            )
        namespace = entry.get("namespace", name)
        if not isinstance(namespace, str) or NAME_RE.fullmatch(namespace) is None:
            raise ConfigError(f"{where}: namespace must be 1-64 letters, digits, '.', '_' or '-'")
        models = entry.get("models")
        if models is not None and (
            not isinstance(models, list) or not all(isinstance(m, str) and m for m in models)
        ):
            raise ConfigError(
                f"{where}: models must be a list of model names (a trailing * matches a prefix)"
            )
        rpm = entry.get("rpm")
        if rpm is not None and (type(rpm) is not int or rpm < 1):
            raise ConfigError(f"{where}: rpm must be a whole number of requests per minute, at least 1")
        admin = entry.get("admin", False)
        if not isinstance(admin, bool):
            raise ConfigError(f"{where}: admin must be true or false")
        tenant = Tenant(name, namespace, tuple(models) if models is not None else None, rpm, admin)
        out.append((bytes.fromhex(hexdigest), tenant))
    return out


def new_key() -> str:
    return "prosa-" + secrets.token_urlsafe(30)


def append_key(
    path: Path,
    name: str,
    namespace: str | None = None,
    models: list[str] | None = None,
    rpm: int | None = None,
    admin: bool = False,
) -> str:
    """Create a key, append its digest (never the key) to the keys file, and return the key."""
    if NAME_RE.fullmatch(name) is None:
        raise ConfigError(f"name must be 1-64 letters, digits, '.', '_' or '-' (got {name!r:.40})")
    if namespace is not None and NAME_RE.fullmatch(namespace) is None:
        raise ConfigError(
            f"--namespace must be 1-64 letters, digits, '.', '_' or '-' (got {namespace!r:.40})"
        )
    if rpm is not None and rpm < 1:
        raise ConfigError(f"--rpm must be at least 1 (got {rpm})")
    if path.exists():
        if any(t.name == name for _, t in read_keys_file(path)):
            raise ConfigError(f"{path} already has a key named {name!r}; choose another name")
    key = new_key()
    lines = [
        "",
        "[[keys]]",
        f"name = {json.dumps(name)}",
        f'sha256 = "{hashlib.sha256(key.encode()).hexdigest()}"',
    ]
    if namespace:
        lines.append(f"namespace = {json.dumps(namespace)}")
    if models:
        lines.append("models = [" + ", ".join(json.dumps(m) for m in models) + "]")
    if rpm:
        lines.append(f"rpm = {rpm}")
    if admin:
        lines.append("admin = true")
    lines.append(f"created = {json.dumps(time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        if f.tell() == 0:
            f.write("# prosa gateway keys: SHA-256 digests only (a key is shown once, when created).\n")
        f.write("\n".join(lines) + "\n")
    return key
