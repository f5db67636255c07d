"""The package's error family.

``TransientError`` and its subclasses are worth retrying (Step Functions and SQS match the class
name); every ``PermanentError`` carries a stable ``code`` that ends up in the failure record.
Messages never contain a URL query string, a signature or the API key.
"""

from __future__ import annotations


class PosterError(Exception):
    """Base class for every error raised by poster_common."""

    code = "InternalError"

    def __init__(self, message: str, *, code: str | None = None, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.request_id = request_id


class TransientError(PosterError):
    """A failure that may go away on its own: throttling, 5xx, timeouts, dropped connections."""

    code = "Transient"


class SidecarImageNotYetError(TransientError):
    """A sidecar arrived before its image; the message is tried again later (uploads can arrive in any order)."""

    code = "SidecarWithoutImage"


class PermanentError(PosterError):
    """A failure that retrying cannot fix; it becomes a failure record."""


class InvalidJobSpecError(PermanentError):
    """The poster text or parameters break the API's rules (same messages as the API)."""

    code = "InvalidParameter"


class InvalidSidecarError(PermanentError):
    """The sidecar ``<stem>.poster.json`` is not valid JSON or not an object."""

    code = "InvalidSidecar"


class InvalidBrandFileError(PermanentError):
    """A ``brand.json`` above the upload is not valid JSON, not an object, or sets a field it may not."""

    code = "InvalidBrandFile"


class InvalidImageError(PermanentError):
    """The background is not an image the API accepts and cannot be normalised."""

    code = "InvalidImage"


class SourceMissingError(PermanentError):
    """The uploaded object (or the image a sidecar belongs to) no longer exists."""

    code = "SourceMissing"


class ApiRejectedError(PermanentError):
    """The API refused the request with a 4xx other than throttling."""

    code = "ApiRejected"


class ResultHostNotAllowedError(PermanentError):
    """A result URL points outside the allow-list (or is not https)."""

    code = "ResultHostNotAllowed"


class ResultTooLargeError(PermanentError):
    """A result is larger than the configured cap."""

    code = "ResultTooLarge"


class ResultNotImageError(PermanentError):
    """A result's ``Content-Type`` is not ``image/*``."""

    code = "ResultNotImage"


class ResultDownloadError(PermanentError):
    """A result could not be downloaded (HTTP error, too many redirects, stalled body)."""

    code = "ResultDownloadFailed"


class NoResultCopiedError(PermanentError):
    """The task succeeded but none of its results could be copied."""

    code = "NoResultCopied"
