"""Errors prosa raises. Each message is one line: what went wrong and how to fix it."""

from __future__ import annotations


class ProsaError(Exception):
    """Base class of every error prosa raises on purpose.

    ``exit_code`` is what the CLI exits with: 2 for bad usage or invalid input, 1 for runtime failures.
    """

    exit_code = 1


class InvalidRequest(ProsaError, ValueError):
    """A message or parameter is not valid. ``param`` names the offending field when there is one."""

    exit_code = 2

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class ContextTooLong(InvalidRequest):
    """The conversation plus ``max_tokens`` does not fit the model's context window."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "messages")


class ConfigError(ProsaError):
    """The configuration (file, environment or arguments) cannot be used."""

    exit_code = 2


class AuthError(ProsaError):
    """An API key is missing or was rejected."""


class UpstreamError(ProsaError):
    """The model server failed. ``status_code`` is its HTTP status when it answered at all."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class UpstreamUnreachable(UpstreamError):
    """The model server could not be reached."""


class UpstreamTimeout(UpstreamError):
    """The model server did not answer in time."""


class StreamInterrupted(UpstreamError):
    """A stream ended before the model said it was finished."""


class CacheError(ProsaError):
    """A cache store cannot be used (corrupt, locked, read-only, full). The request is answered anyway."""


class NotCached(ProsaError):
    """``only_if_cached`` was asked and the cache holds no (fresh enough) answer: the model was not called."""
