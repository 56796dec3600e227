"""prosa errors -> HTTP statuses and OpenAI-shaped error bodies.

Bad input is a 4xx, a failing upstream is passed on (429/5xx with its message) or becomes 502/504;
only a bug in the gateway itself is a 500.
"""

from __future__ import annotations

import logging

from ..errors import (
    AuthError,
    ConfigError,
    ContextTooLong,
    InvalidRequest,
    NotCached,
    ProsaError,
    StreamInterrupted,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from .openai_json import error_body

log = logging.getLogger("prosa.server")


class HTTPError(Exception):
    """An error answer decided by the gateway itself (401, 404, 413...)."""

    def __init__(
        self, status: int, message: str, kind: str = "invalid_request_error", param: str | None = None,
        code: str | None = None, headers: dict[bytes, bytes] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(message)
        self.status, self.message, self.kind, self.param, self.code = status, message, kind, param, code
        self.headers = headers  # extra response headers (retry-after on a 429)

    def body(self) -> bytes:
        return error_body(self.message, self.kind, self.param, self.code)


def to_http(error: BaseException, forward_key: bool = False) -> HTTPError:
    """The HTTP answer for an error raised while answering a chat request."""
    if isinstance(error, HTTPError):
        return error
    if isinstance(error, ContextTooLong):
        return HTTPError(400, str(error), "invalid_request_error", "messages", "context_length_exceeded")
    if isinstance(error, NotCached):  # Cache-Control: only-if-cached and no stored answer (RFC 9111: 504)
        return HTTPError(504, str(error), "invalid_request_error", "cache-control", "not_cached")
    if isinstance(error, InvalidRequest):
        return HTTPError(400, str(error), "invalid_request_error", error.param)
    if isinstance(error, AuthError):
        if forward_key:  # the caller's own key was missing or rejected upstream
            return HTTPError(401, str(error), "authentication_error", None, "invalid_api_key")
        # The gateway's upstream credentials are at fault, not the caller's: a gateway problem.
        return HTTPError(502, str(error), "upstream_error", None, "upstream_auth")
    if isinstance(error, UpstreamTimeout):
        return HTTPError(504, str(error), "timeout_error", None, "upstream_timeout")
    if isinstance(error, (UpstreamUnreachable, StreamInterrupted)):
        return HTTPError(502, str(error), "upstream_error", None, "upstream_unreachable")
    if isinstance(error, UpstreamError):
        status = error.status_code
        if status == 404:
            return HTTPError(404, str(error), "invalid_request_error", "model", "model_not_found")
        if status == 429:
            return HTTPError(429, str(error), "rate_limit_error", None, "rate_limit_exceeded")
        if status is not None and 400 <= status < 600 and status != 401:
            kind = "server_error" if status >= 500 else "invalid_request_error"
            return HTTPError(status, str(error), kind)
        return HTTPError(502, str(error), "upstream_error")
    if isinstance(error, ConfigError):
        # e.g. the embedded model is not installed: the server cannot serve this request.
        return HTTPError(503, str(error), "server_error", None, "unavailable")
    if isinstance(error, ProsaError):
        return HTTPError(502, str(error), "upstream_error")
    log.error("unexpected error answering a request", exc_info=error)
    return HTTPError(
        500, f"internal error in the gateway ({type(error).__name__}); see its log", "server_error"
    )
