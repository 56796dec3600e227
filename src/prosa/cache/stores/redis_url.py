"""Redis URLs as prosa reads them: the password kept out of sight, the cluster scheme and the
budget taken out before redis-py sees the URL, and a node asked whether it is part of a cluster."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from prosa.errors import ConfigError

__all__ = ["safe_url", "split_url"]


def safe_url(url: str) -> str:
    """The URL with any password removed, for messages and ``info``."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def split_url(url: str) -> tuple[str, bool | None, float | None]:
    """(the URL redis-py is given, cluster?, budget) from a prosa Redis URL.

    ``redis+cluster://`` (``rediss+cluster://``) asks for Redis Cluster; ``?budget_ms=N`` sets the
    async budget. Both are taken out of the URL, which redis-py would refuse. Cluster is None when
    the URL does not say (then the server is asked).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    cluster: bool | None = None
    if scheme.endswith("+cluster"):
        scheme, cluster = scheme[: -len("+cluster")], True
    query = parse_qsl(parts.query, keep_blank_values=True)
    budget = None
    kept = []
    for name, value in query:
        if name == "budget_ms":
            try:
                budget = float(value) / 1000
            except ValueError:
                raise ConfigError(
                    f"budget_ms in the Redis URL is a number of milliseconds, got {value!r}"
                ) from None
            if not budget > 0:
                raise ConfigError(f"budget_ms in the Redis URL must be positive, got {value!r}")
        else:
            kept.append((name, value))
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(kept), parts.fragment)), cluster, budget


def _reports_cluster(url: str, timeout: float) -> bool:
    """Whether the server at ``url`` is a Redis Cluster node (False when it cannot be asked now)."""
    import redis

    try:
        with redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout) as probe:
            return bool(probe.info("cluster").get("cluster_enabled"))
    except redis.RedisError:
        return False
