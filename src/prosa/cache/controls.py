"""Per-request cache controls and scopes: who a cached answer belongs to, how old it may be, how long it lives.

A *scope* is where an answer is cached: "" (the common cache), a namespace ("eval-run-3"), or a
gateway tenant and a namespace inside it ("team-a/eval-run-3"). It is part of the cache key
(``ChatRequest.scope``), so two scopes never share an answer. Names are short and plain so that a
scope can be shown, labelled in metrics and matched by ``prosa cache ... --namespace``.

The controls follow HTTP caching (RFC 9111) where it has a word for them:

- ``max_age`` (``Cache-Control: max-age=N``): serve a stored answer only if it is at most N seconds
  old; otherwise ask again and overwrite it.
- ``only_if_cached`` (``Cache-Control: only-if-cached``): answer from the cache or fail, never upstream.
- ``ttl`` (``x-prosa-ttl: N``): the answer stored by this request expires after N seconds.
- ``no-cache`` (refresh) and ``no-store`` (bypass) as before.
"""

from __future__ import annotations

import re

from ..errors import InvalidRequest

__all__ = ["NAME_RE", "check_name", "join_scope", "in_scope", "seconds", "Directives", "cache_control"]

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_SECONDS = 10 * 365 * 86400  # ten years: anything longer is a mistake


def check_name(name: object, what: str = "namespace") -> str:
    """A namespace or tenant name: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit."""
    if not isinstance(name, str) or NAME_RE.fullmatch(name) is None:
        raise InvalidRequest(
            f"{what} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit "
            f"(got {name!r:.80})",
            what,
        )
    return name


def join_scope(tenant: str, namespace: str | None) -> str:
    """The scope of a tenant's (possibly empty) cache and a namespace inside it."""
    if not namespace:
        return tenant
    return f"{tenant}/{namespace}" if tenant else namespace


def in_scope(scope: str, wanted: str) -> bool:
    """True when an entry of ``scope`` belongs to ``wanted`` (itself, or a namespace inside it)."""
    return scope == wanted or scope.startswith(wanted + "/")


def seconds(value: object, what: str, minimum: int = 0) -> int:
    """A whole number of seconds (``minimum`` or more) given as an int or as decimal digits."""
    if type(value) is int and minimum <= value <= MAX_SECONDS:
        return value
    if isinstance(value, str) and value.strip().isdigit() and minimum <= int(value) <= MAX_SECONDS:
        return int(value)
    raise InvalidRequest(
        f"{what} must be a whole number of seconds, {minimum} to {MAX_SECONDS} (got {value!r:.40})", what
    )


class Directives:
    """What a Cache-Control header asks of the cache."""

    __slots__ = ("refresh", "use_cache", "max_age", "only_if_cached")

    def __init__(
        self,
        refresh: bool = False,
        use_cache: bool = True,
        max_age: int | None = None,
        only_if_cached: bool = False,
    ) -> None:
        self.refresh, self.use_cache, self.max_age, self.only_if_cached = (
            refresh,
            use_cache,
            max_age,
            only_if_cached,
        )


NO_DIRECTIVES = Directives()
_parsed: dict[str, Directives] = {}  # header value -> directives: clients repeat the same few values


def cache_control(value: str | None) -> Directives:
    """Parse a Cache-Control request header; raise InvalidRequest (param "cache-control") on a bad one.

    Known: no-cache (ask again, overwrite), no-store (neither read nor write), max-age=N,
    only-if-cached. Other directives (max-stale, no-transform...) are ignored, as RFC 9111 allows.
    """
    if not value:
        return NO_DIRECTIVES
    found = _parsed.get(value)
    if found is not None:
        return found
    refresh, use_cache, max_age, only = False, True, None, False
    for token in value.split(","):
        name, eq, arg = token.strip().partition("=")
        name = name.strip().lower()
        if name == "no-cache":
            refresh = True
        elif name == "no-store":
            use_cache = False
        elif name == "only-if-cached":
            only = True
        elif name == "max-age":
            arg = arg.strip().strip('"')
            if not eq or not arg.isdigit() or int(arg) > MAX_SECONDS:
                raise InvalidRequest(
                    f"Cache-Control max-age must be a whole number of seconds (got {token.strip()!r:.60})",
                    "cache-control",
                )
            max_age = int(arg)
    found = Directives(refresh, use_cache, max_age, only)
    if len(_parsed) < 256:
        _parsed[value] = found
    return found
