"""Browser safety for a gateway on a developer's machine: Host allow-list, Origin check, CORS, JSON only.

A gateway on loopback is reachable from every web page its user opens. Three checks keep those pages
out while leaving the gateway's own page, the openai SDK and curl untouched:

- **Host**: only the names the gateway serves (loopback names, the bound address, ``--allowed-host``)
  are answered, else 421. This defeats DNS rebinding (an attacker's name pointed at 127.0.0.1).
- **Origin**: a browser request from another origin is refused with 403, unless that origin is listed
  with ``--cors-origin``; then it gets proper CORS answers, preflight included. Requests without an
  Origin (SDKs, curl, same-origin GETs) are not browser cross-site requests and pass.
- **Content-Type**: ``POST /v1/*`` needs ``application/json`` (415 otherwise), so a cross-site "simple"
  request (text/plain, form data), which a browser sends without a preflight, is never acted on.

Each check is a few byte comparisons; the verdict on a Host value is memoised.
"""

from __future__ import annotations

import ipaddress
import socket

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "localhost.localdomain", "ip6-localhost")
WILDCARDS = ("0.0.0.0", "::", "")
ALLOW_HEADERS = b"authorization, content-type, cache-control, x-prosa-key, x-prosa-ttl, x-prosa-namespace"
EXPOSE_HEADERS = b"x-prosa-cache, x-prosa-similarity, age, retry-after"


# Each header the gateway reads, and its place in RequestHeaders.__slots__.
_HEADER_SLOT = {name: i for i, name in enumerate((b"host", b"origin", b"authorization", b"x-prosa-key",
                b"content-type", b"content-length", b"cache-control", b"x-prosa-ttl", b"x-prosa-namespace"))}  # fmt: skip


class RequestHeaders:
    """The request headers the gateway acts on, read in one pass (values as sent, bytes)."""

    __slots__ = ("host", "origin", "authorization", "prosa_key", "content_type", "content_length",
                 "cache_control", "ttl", "namespace")  # fmt: skip

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        values: list[bytes | None] = [None] * 9
        where = _HEADER_SLOT.get
        for name, value in headers:  # one dict look-up per header (ASGI names are lower-case)
            i = where(name)
            if i is not None:
                values[i] = value
        (self.host, self.origin, self.authorization, self.prosa_key, self.content_type, self.content_length,
         self.cache_control, self.ttl, self.namespace) = values  # fmt: skip

    def bearer(self) -> bytes | None:
        value = self.authorization
        if value is not None and value[:7].lower() == b"bearer ":
            return value[7:].strip() or None
        return None


def host_name(host: str) -> str:
    """The name part of a Host value ("[::1]:8000" -> "::1", "Example.COM.:80" -> "example.com")."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


class BrowserGuard:
    """Decides whether a request's Host and Origin may be answered, and what CORS headers go back."""

    def __init__(self, bind_host: str, allowed_hosts: list[str], cors_origins: list[str]) -> None:
        bound = host_name(bind_host)
        self.names = {*LOOPBACK_NAMES, bound, *(host_name(h) for h in allowed_hosts)}
        self.any_ip = bound in WILDCARDS  # bound to every interface: any address literal is ours
        if self.any_ip:
            for name in (socket.gethostname(), socket.getfqdn()):
                self.names.add(host_name(name))
        self.origins = {o.strip().rstrip("/").lower().encode() for o in cors_origins}
        self._hosts: dict[bytes, bool] = {}

    def host_ok(self, host: bytes | None) -> bool:
        if host is None:
            return True  # HTTP/1.0 without Host: not a browser (browsers always send one)
        known = self._hosts.get(host)
        if known is None:
            name = host_name(host.decode("latin-1"))
            known = name in self.names or (self.any_ip and _is_ip(name))
            if len(self._hosts) < 1024:
                self._hosts[host] = known
        return known

    def same_origin(self, origin: bytes, host: bytes | None) -> bool:
        """True when ``origin`` is the gateway's own (the page it served, at the Host it was asked by)."""
        if host is None:
            return False
        scheme_end = origin.find(b"://")
        return (
            scheme_end in (4, 5)
            and origin[:scheme_end] in (b"http", b"https")
            and origin[scheme_end + 3 :] == host
        )

    def listed(self, origin: bytes) -> bool:
        return origin.rstrip(b"/").lower() in self.origins


def cors_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"access-control-allow-origin", origin), (b"vary", b"Origin"),
            (b"access-control-expose-headers", EXPOSE_HEADERS)]  # fmt: skip


def preflight_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"access-control-allow-origin", origin), (b"vary", b"Origin"),
            (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
            (b"access-control-allow-headers", ALLOW_HEADERS), (b"access-control-max-age", b"600"),
            (b"content-length", b"0")]  # fmt: skip


def is_json(content_type: bytes | None) -> bool:
    if content_type == b"application/json":
        return True  # what SDKs send: no parsing
    return content_type is not None and content_type.split(b";", 1)[0].strip().lower() == b"application/json"


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
