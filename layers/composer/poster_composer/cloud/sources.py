"""Which background and logo URLs the deployed composer may fetch: objects of the stack's own buckets only.

The real service fetches whatever public URL it is given; ours is reached only by this stack's Submit,
which presigns a GET on its input or output bucket. Any other URL is refused at create time with the
API's ``Invalid URL`` error and never fetched, so the service cannot be used to reach anything else
(no SSRF through ``image_url`` or ``logo``).

Accepted shapes (https only, no user info, the default port):

- virtual-hosted: ``https://<bucket>.s3.<region>.amazonaws.com/<key>`` and ``https://<bucket>.s3.amazonaws.com/<key>``;
- path-style: ``https://s3.<region>.amazonaws.com/<bucket>/<key>``;
- behind an endpoint override (the local stack): ``<endpoint>/<bucket>/<key>`` on exactly that scheme and authority.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from poster_composer.errors import InvalidParameterError
from poster_composer.validation import redact_url

_AWS_S3_HOST = re.compile(
    r"^(?:(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.)?s3(?:\.(?P<region>[a-z0-9-]+))?\.amazonaws\.com$"
)


@dataclass(frozen=True)
class SourcePolicy:
    """The buckets a task may read, and the S3 endpoint override in force (``None`` on AWS)."""

    buckets: frozenset[str]
    region: str
    endpoint: str | None = None

    def check(self, url: str, field: str) -> None:
        """Refuse ``url`` unless it names an object of one of `buckets`.

        Raises
        ------
        InvalidParameterError
            The URL is not an object of the stack's own buckets (message without the query string).
        """
        bucket = self.bucket_of(url)
        if bucket is None or bucket not in self.buckets:
            raise InvalidParameterError(
                f"Invalid URL '{redact_url(url)}': {field} must be an object of this stack's input or output bucket."
            )

    def bucket_of(self, url: str) -> str | None:
        """The bucket ``url`` points into, or ``None`` when it is not an S3 object URL this policy accepts."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            return None
        if parts.username is not None or parts.password is not None or parts.fragment:
            return None
        if self.endpoint is not None:
            return self._behind_endpoint(parts.scheme, parts.netloc, parts.path)
        if parts.scheme != "https" or port not in (None, 443):
            return None
        match = _AWS_S3_HOST.match((parts.hostname or "").lower())
        if match is None or match["region"] not in (None, self.region):
            return None
        if match["bucket"]:
            return match["bucket"] if len(parts.path) > 1 else None
        return _first_segment(parts.path)

    def _behind_endpoint(self, scheme: str, netloc: str, path: str) -> str | None:
        assert self.endpoint is not None
        expected = urlsplit(self.endpoint)
        if scheme != expected.scheme or netloc.lower() != expected.netloc.lower():
            return None
        return _first_segment(path)


def _first_segment(path: str) -> str | None:
    """``/bucket/key…`` → ``bucket`` (a key is required; no dot segments)."""
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket or not key or ".." in path.split("/"):
        return None
    return bucket
