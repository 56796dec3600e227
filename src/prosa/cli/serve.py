"""`prosa serve`: check the options, then run the gateway app on uvicorn (one or more worker processes)."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys

from ..errors import CacheError, ConfigError, ProsaError

log = logging.getLogger("prosa.server")


def serve(args: argparse.Namespace) -> int:
    from ..cache.cache import open_store
    from ..config import load_settings
    from ..server.config import ENV_VAR, GatewayConfig

    config = GatewayConfig.from_args(args)
    config.check()
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        raise ConfigError("the gateway needs starlette and uvicorn: pip install 'prosa[server]'") from None
    # Fail fast, with one line, on a bad config file or cache spec, before any worker starts.
    settings = load_settings(openai_base_url=config.upstream)
    where = "off"
    try:
        store = open_store(settings.cli_cache(config.cache), settings)
        if store is not None:
            where = store.url
            store.close()
    except CacheError as e:
        log.warning("%s (answering without the cache)", e)
    if config.workers > 1 and where == "memory":
        log.warning("with --workers %d each worker has its own memory cache; use sqlite to share one",
                    config.workers)  # fmt: skip
    if config.has_upstream(settings):
        upstream = settings.base_url + (" (callers' keys)" if config.forward_key else "")
    else:
        upstream = "none: only the local model (use --upstream URL or an OpenAI key)"
    _check_port(config.host, config.port)
    host = f"[{config.host}]" if ":" in config.host else config.host
    print(
        f"prosa serve: http://{host}:{config.port}/ (web page) and /v1 (OpenAI API); cache {where}; "
        f"upstream {upstream}; access keys {'required' if config.keys or config.keys_file else 'off'}; "
        f"{config.workers} worker(s)",
        file=sys.stderr,
        flush=True,
    )
    # Workers are fresh processes that import the app factory: the config goes with them in the environment.
    os.environ[ENV_VAR] = config.to_env()
    uvicorn.run(
        "prosa.server.app:app_from_env",
        factory=True,
        host=config.host,
        port=config.port,
        workers=config.workers,
        log_level="debug" if log.getEffectiveLevel() <= logging.DEBUG else "warning",
        access_log=False,  # the hot path; and nothing about callers lands in a log
        server_header=False,
        proxy_headers=False,  # client addresses are never used: skip the per-request middleware
        timeout_graceful_shutdown=5,
    )
    return 0


def _check_port(host: str, port: int) -> None:
    """Fail with one line, before the banner, when the address is taken (uvicorn would print its raw
    [Errno 98] after the banner had claimed to serve, and exit 3)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host, port, family if host != "localhost" else 0, socket.SOCK_STREAM)
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}: {e.strerror or e}; check --host") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no clash
        try:
            probe.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise ProsaError(
                    f"port {port} on {host} is already in use (another prosa serve?); stop that server "
                    "or choose another port with --port"
                ) from None
            raise ProsaError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
