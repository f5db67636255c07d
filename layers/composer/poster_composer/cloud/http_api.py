"""An API Gateway HTTP API event (payload format 2.0) in, an `HttpRequest` out, and back.

The same request and response types as the local server's transport, so the API function is a thin
adapter: ``response_event(app.handle(request_from_event(event)))``.
"""

from __future__ import annotations

import base64
from typing import Any

from poster_composer.api import MAX_REQUEST_BYTES, HttpRequest, HttpResponse
from poster_composer.errors import RequestTooLargeError


def request_from_event(event: dict[str, Any]) -> HttpRequest:
    """The request an HTTP API event carries.

    Raises
    ------
    RequestTooLargeError
        The body is over `MAX_REQUEST_BYTES`.
    """
    context = event.get("requestContext") or {}
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
    if len(raw) > MAX_REQUEST_BYTES:
        raise RequestTooLargeError(f"Request body exceeds {MAX_REQUEST_BYTES} bytes.")
    headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
    domain = context.get("domainName") or headers.get("host", "")
    return HttpRequest(
        method=str((context.get("http") or {}).get("method", "GET")).upper(),
        path=str(event.get("rawPath") or "/"),
        query=str(event.get("rawQueryString") or ""),
        headers=headers,
        body=raw,
        origin=f"https://{domain}" if domain else "",
    )


def response_event(response: HttpResponse) -> dict[str, Any]:
    """The HTTP API response for ``response`` (the service never streams: results are in S3)."""
    body = response.body if response.stream is None else b"".join(response.stream)
    return {
        "statusCode": response.status,
        "headers": dict(response.headers),
        "body": body.decode("utf-8"),
        "isBase64Encoded": False,
    }
