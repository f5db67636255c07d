"""HTTP client for the DashScope async image-synthesis protocol (wanx-ast and its siblings).

Submit: ``POST {base}<the model profile's path>`` (``/services/aigc/text2image/image-synthesis`` for
wanx-ast) with ``X-DashScope-Async: enable``; query: ``GET {base}/tasks/{id}``. 429, 5xx and connection
failures on submit are retried here with capped exponential backoff and full jitter; any other 4xx is an
``ApiRejectedError`` and never retried.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

import requests

from poster_common.errors import ApiRejectedError, TransientError
from poster_common.models import SubmittedTask, TaskSnapshot, TaskStatus
from poster_common.profiles import TEXT2IMAGE_PATH, task_results
from poster_common.retry import backoff_delays

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from poster_common.profiles import ResultParser

logger = logging.getLogger(__name__)

SUBMIT_PATH = TEXT2IMAGE_PATH
_MAX_BODY_BYTES = 1024 * 1024


class PosterApiClient:
    """A small, typed client; ``api_key`` is a callable so the secret is read lazily and cached elsewhere.

    Examples
    --------
    >>> client = PosterApiClient("https://dashscope.aliyuncs.com/api/v1", api_key=lambda: "sk-…")
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: Callable[[], str],
        session: requests.Session | None = None,
        timeouts: tuple[float, float] = (3.05, 30.0),
        max_attempts: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        delays: Callable[[int], Iterable[float]] = backoff_delays,
        parse_results: ResultParser = task_results,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._session = session or requests.Session()
        self._timeouts = timeouts
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._delays = delays
        self._parse_results = parse_results

    def submit(
        self,
        model: str,
        input_: dict[str, Any],
        parameters: dict[str, Any],
        *,
        path: str = SUBMIT_PATH,
        before_attempt: Callable[[], None] | None = None,
        on_transient: Callable[[TransientError], None] | None = None,
    ) -> SubmittedTask:
        """Create a task at ``path`` (the model profile's); retries throttling and server errors, raises on
        anything else.

        ``before_attempt`` runs before every POST (the quota gate takes a rate token there; it may
        raise ``TransientError``); ``on_transient`` sees each transient failure, the last one included (metrics).
        """
        body = {"model": model, "input": input_, "parameters": parameters}
        headers = {
            "Authorization": f"Bearer {self._api_key()}",
            "Content-Type": "application/json",
            "X-DashScope-Async": "enable",
        }
        last_error: TransientError | None = None
        delays = iter(self._delays(self._max_attempts))
        for attempt in range(1, self._max_attempts + 1):
            if before_attempt is not None:
                before_attempt()
            try:
                response, payload = self._send("POST", self._base_url + path, json=body, headers=headers)
                if response.status_code == 200:
                    output = payload.get("output") or {}
                    task_id = output.get("task_id")
                    if not isinstance(task_id, str) or not task_id:
                        raise TransientError("submit answered 200 without output.task_id")
                    return SubmittedTask(task_id=task_id, request_id=payload.get("request_id"))
                error = _error_from(response, payload)
                if not isinstance(error, TransientError):
                    raise error
                last_error = error
            except requests.RequestException as exc:
                last_error = TransientError(f"submit failed: {type(exc).__name__}")
            if on_transient is not None:
                on_transient(last_error)
            delay = next(delays, None)
            if delay is None:
                break
            logger.warning(
                "submit attempt %d/%d failed (%s); retrying in %.2fs",
                attempt,
                self._max_attempts,
                last_error.code,
                delay,
            )
            self._sleep(delay)
        assert last_error is not None
        raise last_error

    def query(self, task_id: str) -> TaskSnapshot:
        """One query; throttling, 5xx and connection errors raise ``TransientError`` for the caller to retry."""
        try:
            response, payload = self._send(
                "GET", f"{self._base_url}/tasks/{task_id}", headers={"Authorization": f"Bearer {self._api_key()}"}
            )
        except requests.RequestException as exc:
            raise TransientError(f"query failed: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise _error_from(response, payload)
        return parse_task(task_id, payload, self._parse_results)

    def _send(self, method: str, url: str, **kwargs: Any) -> tuple[requests.Response, dict[str, Any]]:
        """One request with timeouts, no redirects and a bounded body, parsed as a JSON object."""
        with self._session.request(
            method, url, timeout=self._timeouts, allow_redirects=False, stream=True, **kwargs
        ) as response:
            body = response.raw.read(_MAX_BODY_BYTES + 1, decode_content=True)
        return response, _json_object(body)


def parse_task(task_id: str, payload: dict[str, Any], parse_results: ResultParser = task_results) -> TaskSnapshot:
    """Normalise a query answer (tolerates missing fields; a missing status is UNKNOWN); ``parse_results``
    is the model profile's reading of ``output``."""
    output = payload.get("output")
    if not isinstance(output, dict):
        output = {}
    results = parse_results(output)
    metrics = output.get("task_metrics")
    usage = payload.get("usage")
    image_count = usage.get("image_count") if isinstance(usage, dict) else None
    return TaskSnapshot(
        task_id=str(output.get("task_id") or task_id),
        status=TaskStatus.parse(output.get("task_status")),
        request_id=payload.get("request_id"),
        code=output.get("code"),
        message=output.get("message"),
        submit_time=output.get("submit_time"),
        scheduled_time=output.get("scheduled_time"),
        end_time=output.get("end_time"),
        results=results,
        task_metrics=dict(metrics) if isinstance(metrics, dict) else {},
        image_count=image_count if isinstance(image_count, int) else None,
    )


def _json_object(body: bytes) -> dict[str, Any]:
    if len(body) > _MAX_BODY_BYTES:
        return {}
    try:
        payload = json.loads(body)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _error_from(response: requests.Response, payload: dict[str, Any]) -> ApiRejectedError | TransientError:
    status = response.status_code
    code = str(payload.get("code") or f"HTTP{status}")
    message = str(payload.get("message") or response.reason or "")
    request_id = payload.get("request_id")
    text = f"HTTP {status} {code}: {message}"
    if status == 429 or status >= 500 or status == 408:
        return TransientError(text, code=code, request_id=request_id)
    return ApiRejectedError(message, code=code, request_id=request_id)
