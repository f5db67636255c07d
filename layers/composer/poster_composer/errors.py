"""Errors of the composer's DashScope-compatible API.

Each error carries the HTTP status and the stable DashScope ``code`` it is rendered with, so the
transport (``server.py``) turns any of them into ``{"request_id", "code", "message"}`` without
knowing why it was raised (the pilbox ``errors.py`` pattern).

Task-time failures (download, render) are not HTTP errors: they are ``TaskFailedError`` exceptions that end
a task as FAILED with ``output.code`` / ``output.message``.
"""

from __future__ import annotations


class ApiError(Exception):
    """An API request failed; rendered as a flat JSON error body with ``status``."""

    status: int = 500
    code: str = "InternalError"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class InvalidParameterError(ApiError):
    """400 ``InvalidParameter``: the request body breaks one of the API's rules."""

    status = 400
    code = "InvalidParameter"


class InvalidApiKeyError(ApiError):
    """401 ``InvalidApiKey``: no ``Authorization: Bearer`` key, or the wrong one."""

    status = 401
    code = "InvalidApiKey"


class AccessDeniedError(ApiError):
    """403 ``AccessDenied``: e.g. a synchronous call to an async-only model."""

    status = 403
    code = "AccessDenied"


class NotFoundError(ApiError):
    """404 ``NotFound``: no such route."""

    status = 404
    code = "NotFound"


class MethodNotAllowedError(ApiError):
    """405 ``MethodNotAllowed``: the route exists, the method does not."""

    status = 405
    code = "MethodNotAllowed"


class RequestTooLargeError(ApiError):
    """413 ``RequestEntityTooLarge``: the request body exceeds the server's cap."""

    status = 413
    code = "RequestEntityTooLarge"


class ThrottlingError(ApiError):
    """429 ``Throttling.RateQuota``: over the submission rate."""

    status = 429
    code = "Throttling.RateQuota"


class UnsupportedOperationError(ApiError):
    """400 ``UnsupportedOperation``: e.g. cancelling a task that is not PENDING."""

    status = 400
    code = "UnsupportedOperation"


class InternalServerError(ApiError):
    """500 ``InternalError``."""

    status = 500
    code = "InternalError"


class ServiceUnavailableError(ApiError):
    """503 ``ServiceUnavailable``: transient; the SDK's ``wait()`` retries it."""

    status = 503
    code = "ServiceUnavailable"


class ComposerConfigError(ValueError):
    """The fault-injection / quota configuration is invalid (400 on ``PUT /_composer/config``)."""


class TaskFailedError(Exception):
    """A task ends FAILED with this ``code`` / ``message`` (HTTP 200 on query)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
