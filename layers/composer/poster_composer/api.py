"""The composer's API, independent of the HTTP transport: request in, response out.

Routes (DashScope subset, result images, control API):

- ``POST /api/v1/services/aigc/text2image/image-synthesis`` — create a task.
- ``GET /api/v1/tasks/{task_id}`` — query one task; ``GET /api/v1/tasks`` — list tasks.
- ``POST /api/v1/tasks/{task_id}/cancel`` — cancel a PENDING task.
- ``GET|HEAD /results/{task_id}/{index}.png?Expires=…&OSSAccessKeyId=…&Signature=…`` — a result.
- ``GET|PUT /_composer/config``, ``GET /_composer/stats``, ``POST /_composer/reset``,
  ``GET /_composer/health`` — control API for tests (no key needed).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from poster_composer.errors import (
    ApiError,
    ComposerConfigError,
    InvalidParameterError,
    MethodNotAllowedError,
    NotFoundError,
    ThrottlingError,
)
from poster_composer.fault_injector import FaultInjector
from poster_composer.faults import THROTTLING_MESSAGE, ComposerConfig
from poster_composer.image_edit import synthesis_from_edit
from poster_composer.input_media import HttpMediaFetcher, MediaFetcher
from poster_composer.production import Renderer, render_with_composer
from poster_composer.quota import SlidingWindowLimiter
from poster_composer.results import ResultSigner, ResultStore, SignatureRejectedError
from poster_composer.stats import StatsRecorder
from poster_composer.tasks import TaskManager
from poster_composer.validation import (
    SynthesisRequest,
    check_api_key,
    check_async_header,
    parse_json_object,
    redact_url,
    validate_image_edit,
    validate_synthesis,
)

if TYPE_CHECKING:
    from poster_composer.fault_injector import TaskPlan
    from poster_composer.tasks import Task

logger = logging.getLogger(__name__)

CREATE_PATH = "/api/v1/services/aigc/text2image/image-synthesis"
#: The image-editing models' create path (``wan2.5-i2i-preview``, emulated: `poster_composer.image_edit`).
EDIT_PATH = "/api/v1/services/aigc/image2image/image-synthesis"
#: Largest request body either front accepts.
MAX_REQUEST_BYTES = 1024 * 1024
JSON_TYPE = "application/json"
_TASK_PATH = re.compile(r"^/api/v1/tasks/(?P<task_id>[^/]+)$")
_CANCEL_PATH = re.compile(r"^/api/v1/tasks/(?P<task_id>[^/]+)/cancel$")
_RESULT_PATH = re.compile(r"^/results/(?P<task_id>[^/]+)/(?P<index>\d{1,2})\.png$")
_STREAM_CHUNK = 64 * 1024


@dataclass(frozen=True)
class HttpRequest:
    """What the transport hands the API.

    ``headers`` has lower-case names; ``origin`` is ``scheme://host[:port]`` as the client addressed
    the server (used to build result URLs).
    """

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    origin: str = ""


@dataclass
class HttpResponse:
    """What the API hands back: a body, or a ``stream`` of ``content_length`` bytes."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: Iterable[bytes] | None = None
    content_length: int | None = None


def json_response(status: int, payload: Mapping[str, Any]) -> HttpResponse:
    """A JSON response (``Content-Type: application/json``)."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return HttpResponse(status, {"Content-Type": JSON_TYPE}, body)


def error_response(error: ApiError, request_id: str) -> HttpResponse:
    """The flat DashScope error body ``{"request_id", "code", "message"}``."""
    return json_response(error.status, {"request_id": request_id, "code": error.code, "message": error.message})


def _oss_error(status: int, code: str, message: str, request_id: str) -> HttpResponse:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n  <Code>{escape(code)}</Code>\n'
        f"  <Message>{escape(message)}</Message>\n  <RequestId>{request_id}</RequestId>\n"
        "  <HostId>poster-composer</HostId>\n</Error>\n"
    )
    return HttpResponse(status, {"Content-Type": "application/xml"}, body.encode())


def _peek_submission(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """Best-effort (image URL without query, first title) of a create body, for the stats."""
    data = body.get("input")
    if not isinstance(data, Mapping):
        return None, None
    images = data.get("images")
    url = images[0] if isinstance(images, list) and images else data.get("image_url")
    titles = data.get("title")
    title = titles[0] if isinstance(titles, list) and titles and isinstance(titles[0], str) else None
    return (redact_url(url) if isinstance(url, str) else None), title


def _edit_as_synthesis(body: dict[str, Any]) -> SynthesisRequest:
    return synthesis_from_edit(validate_image_edit(body))


class TaskBackend(Protocol):
    """Where tasks live and get rendered: worker threads in this process (`TaskManager`), or the
    deployed service's table and queue (`poster_composer.cloud.tasks.CloudTasks`)."""

    @property
    def in_progress(self) -> int: ...

    @property
    def pending(self) -> int: ...

    def submit(self, request: SynthesisRequest, plan: TaskPlan) -> _HasTaskId: ...

    def view(self, task_id: str, origin: str) -> dict[str, Any]: ...

    def cancel(self, task_id: str) -> None: ...

    def list_tasks(self, filters: Mapping[str, str], origin: str) -> dict[str, Any]: ...

    def task(self, task_id: str) -> Task | None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def reset(self) -> None: ...

    def config_changed(self) -> None: ...


class _HasTaskId(Protocol):
    @property
    def task_id(self) -> str: ...


class ComposerApp:
    """The API's state and handlers.

    Parameters
    ----------
    config
        Start-up configuration (``POST /_composer/reset`` returns to it).
    fetcher
        Downloads inputs (default: ``HttpMediaFetcher``).
    renderer
        Renders posters (default: the offline renderer).
    secret
        Result-URL signing key (default: random per app).
    tasks
        The task backend (default: a `TaskManager` with worker threads in this process).
    api_key
        Returns the key clients must send (default: ``config.api_key``); the deployed service reads
        it from Secrets Manager.
    check_source
        Called with each input URL and its field before a task is created; raises an ``ApiError`` to
        refuse it (the deployed service accepts only its own buckets).
    control
        Serve the control API and result images (the local server); off in the deployed service.

    Example
    -------
    >>> app = ComposerApp(ComposerConfig())
    >>> app.handle(HttpRequest("GET", "/_composer/health")).status
    200
    """

    def __init__(
        self,
        config: ComposerConfig | None = None,
        *,
        fetcher: MediaFetcher | None = None,
        renderer: Renderer | None = None,
        secret: bytes | None = None,
        tasks: TaskBackend | None = None,
        api_key: Callable[[], str | None] | None = None,
        check_source: Callable[[str, str], None] | None = None,
        control: bool = True,
    ) -> None:
        self._initial_config = config or ComposerConfig()
        self._config = self._initial_config
        self._config_lock = threading.Lock()
        self._stopping = threading.Event()
        self._owned_fetcher: HttpMediaFetcher | None = None
        if fetcher is None:
            self._owned_fetcher = fetcher = HttpMediaFetcher()
        self.stats = StatsRecorder()
        self.injector = FaultInjector(self._config.seed)
        self.submit_limiter = SlidingWindowLimiter(self._config.submissions_per_second)
        self.query_limiter = SlidingWindowLimiter(self._config.queries_per_second)
        self.results = ResultStore(self._config.result_cache_max_bytes, self._config.result_url_ttl_seconds)
        self.signer = ResultSigner(secret)
        self.tasks: TaskBackend = tasks or TaskManager(
            lambda: self._config, self.stats, self.results, self.signer, fetcher, renderer or render_with_composer
        )
        self._api_key = api_key or (lambda: self._config.api_key)
        self._check_source = check_source
        self._control = control
        self._routes: dict[str, Callable[[HttpRequest, str], HttpResponse]] = {
            "POST " + CREATE_PATH: lambda request, request_id: self._create(request, request_id, self._synthesis),
            "POST " + EDIT_PATH: lambda request, request_id: self._create(request, request_id, _edit_as_synthesis),
            "GET /api/v1/tasks": self._list,
        }
        if control:
            self._routes |= {
                "GET /_composer/config": lambda request, request_id: json_response(200, self.config.to_dict()),
                "PUT /_composer/config": self._put_config,
                "GET /_composer/stats": lambda request, request_id: json_response(200, self.stats_snapshot()),
                "POST /_composer/reset": self._reset,
                "GET /_composer/health": lambda request, request_id: json_response(200, {"ok": True}),
            }

    # ------------------------------------------------------------ lifecycle and control

    def start(self) -> None:
        """Start the task workers."""
        self._stopping.clear()
        self.tasks.start()

    def stop(self) -> None:
        """Stop the workers and end any stalled result downloads."""
        self._stopping.set()
        self.tasks.stop()
        if self._owned_fetcher is not None:
            self._owned_fetcher.close()

    @property
    def config(self) -> ComposerConfig:
        """The configuration in force."""
        return self._config

    def update_config(self, changes: Mapping[str, Any]) -> ComposerConfig:
        """Merge ``changes`` (JSON keys of ``ComposerConfig``) into the configuration.

        Raises
        ------
        ComposerConfigError
            An unknown key or an invalid value (nothing changes then).
        """
        with self._config_lock:
            new = ComposerConfig.from_mapping(changes, base=self._config)
            self._apply(new, reseed="seed" in changes)
            return new

    def reset(self) -> None:
        """Back to the start-up configuration; forget tasks, results, stats, counters and quota."""
        with self._config_lock:
            self.tasks.reset()
            self.results.clear()
            self.stats.reset()
            self.submit_limiter.reset()
            self.query_limiter.reset()
            self._apply(self._initial_config, reseed=True)

    def _apply(self, config: ComposerConfig, *, reseed: bool) -> None:
        self._config = config
        if reseed:
            self.injector.reseed(config.seed)
        self.submit_limiter.set_rate(config.submissions_per_second)
        self.query_limiter.set_rate(config.queries_per_second)
        self.results.set_limits(config.result_cache_max_bytes, config.result_url_ttl_seconds)
        self.tasks.config_changed()

    def stats_snapshot(self) -> dict[str, Any]:
        """``GET /_composer/stats`` (see ``StatsRecorder.snapshot``)."""
        return self.stats.snapshot(in_progress=self.tasks.in_progress, pending=self.tasks.pending)

    # ------------------------------------------------------------ routing

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request; never raises for a bad request."""
        request_id = str(uuid.uuid4())
        path = request.path.rstrip("/") or "/"
        try:
            handler = self._routes.get(f"{request.method} {path}")
            if handler is not None:
                return handler(request, request_id)
            match = _TASK_PATH.match(path)
            if match and request.method == "GET":
                return self._query(request, request_id, match["task_id"])
            match = _CANCEL_PATH.match(path)
            if match and request.method == "POST":
                return self._cancel(request, request_id, match["task_id"])
            match = _RESULT_PATH.match(path) if self._control else None
            if match and request.method in ("GET", "HEAD"):
                return self._result(request, request_id, match["task_id"], int(match["index"]))
            if (
                any(route.split(" ", 1)[1] == path for route in self._routes)
                or _TASK_PATH.match(path)
                or _CANCEL_PATH.match(path)
                or (self._control and _RESULT_PATH.match(path))
            ):
                raise MethodNotAllowedError(f"Method {request.method} is not allowed.")
            raise NotFoundError("Not found.")
        except ApiError as error:
            return error_response(error, request_id)

    # ------------------------------------------------------------ DashScope endpoints

    def _synthesis(self, body: dict[str, Any]) -> SynthesisRequest:
        return validate_synthesis(body, self.config.models)

    def _create(
        self, request: HttpRequest, request_id: str, parse: Callable[[dict[str, Any]], SynthesisRequest]
    ) -> HttpResponse:
        config = self.config
        image_url: str | None = None
        title: str | None = None
        try:
            check_api_key(request.headers.get("authorization"), self._api_key())
            check_async_header(request.headers.get("x-dashscope-async"))
            body = parse_json_object(request.body)
            image_url, title = _peek_submission(body)
            if not self.submit_limiter.try_acquire():
                raise ThrottlingError(THROTTLING_MESSAGE)
            synthesis = parse(body)
            self._refuse_foreign_sources(synthesis)
            rule = config.match_rule(synthesis.title[0])
            fault = self.injector.submit_fault(config, rule, synthesis.title[0])
            if fault is not None:
                raise fault
            plan = self.injector.plan_task(config, rule, synthesis.n)
            task = self.tasks.submit(synthesis, plan)
        except ApiError as error:
            self.stats.submission(image_url, title, error.code)
            raise
        self.stats.submission(image_url, title, None)
        logger.info("task %s accepted (n=%d)", task.task_id, synthesis.n)
        return json_response(
            200, {"request_id": request_id, "output": {"task_id": task.task_id, "task_status": "PENDING"}}
        )

    def _refuse_foreign_sources(self, synthesis: SynthesisRequest) -> None:
        if self._check_source is None:
            return
        self._check_source(synthesis.image_url, "image_url")
        if synthesis.logo:
            self._check_source(synthesis.logo, "logo")

    def _origin(self, request: HttpRequest) -> str:
        return self.config.result_origin or request.origin

    def _query(self, request: HttpRequest, request_id: str, task_id: str) -> HttpResponse:
        config = self.config
        check_api_key(request.headers.get("authorization"), self._api_key())
        if not self.query_limiter.try_acquire():
            raise ThrottlingError(THROTTLING_MESSAGE)
        fault = self.injector.query_fault(config)
        if fault is not None:
            raise fault
        self.stats.query()
        return json_response(200, {"request_id": request_id, **self.tasks.view(task_id, self._origin(request))})

    def _list(self, request: HttpRequest, request_id: str) -> HttpResponse:
        check_api_key(request.headers.get("authorization"), self._api_key())
        filters = {key: values[-1] for key, values in parse_qs(request.query).items()}
        try:
            body = self.tasks.list_tasks(filters, self._origin(request))
        except ValueError as error:
            raise InvalidParameterError(str(error)) from error
        return json_response(200, {"request_id": request_id, **body})

    def _cancel(self, request: HttpRequest, request_id: str, task_id: str) -> HttpResponse:
        check_api_key(request.headers.get("authorization"), self._api_key())
        self.tasks.cancel(task_id)
        return json_response(200, {"request_id": request_id})

    # ------------------------------------------------------------ control endpoints

    def _put_config(self, request: HttpRequest, request_id: str) -> HttpResponse:
        try:
            changes = json.loads(request.body.decode("utf-8") or "{}")
            config = self.update_config(changes)
        except (ValueError, ComposerConfigError) as error:
            raise InvalidParameterError(str(error)) from error
        return json_response(200, config.to_dict())

    def _reset(self, request: HttpRequest, request_id: str) -> HttpResponse:
        self.reset()
        return json_response(200, {"request_id": request_id, "reset": True})

    # ------------------------------------------------------------ result images

    def _result(self, request: HttpRequest, request_id: str, task_id: str, index: int) -> HttpResponse:
        try:
            self.signer.verify(request.path, parse_qs(request.query, keep_blank_values=True))
        except SignatureRejectedError as rejected:
            self.stats.result_rejected(rejected.code)
            return _oss_error(rejected.status, rejected.code, rejected.message, request_id)
        task = self.tasks.task(task_id)
        data = self.results.get(task_id, index)
        if task is None or data is None:
            self.stats.result_rejected("NoSuchKey")
            return _oss_error(404, "NoSuchKey", "The specified key does not exist.", request_id)
        behaviour = task.plan.results
        if behaviour.redirect:
            return HttpResponse(302, {"Location": behaviour.redirect, "Content-Length": "0"})
        headers = {"Content-Type": behaviour.content_type or "image/png", "Cache-Control": "no-store"}
        if request.method == "HEAD":
            return HttpResponse(200, headers, content_length=len(data) + behaviour.extra_bytes, stream=())
        self.stats.result_served()
        if not behaviour.extra_bytes and not behaviour.stall_seconds:
            return HttpResponse(200, headers, data)
        return HttpResponse(
            200,
            headers,
            stream=self._stream(data, behaviour.extra_bytes, behaviour.stall_seconds),
            content_length=len(data) + behaviour.extra_bytes,
        )

    def _stream(self, data: bytes, extra_bytes: int, stall_seconds: float) -> Iterator[bytes]:
        half = len(data) // 2
        yield data[:half]
        if stall_seconds:
            self._stopping.wait(stall_seconds)
            if self._stopping.is_set():
                return
        yield data[half:]
        padding = bytes(_STREAM_CHUNK)
        remaining = extra_bytes
        while remaining > 0 and not self._stopping.is_set():
            chunk = padding[: min(remaining, _STREAM_CHUNK)]
            remaining -= len(chunk)
            yield chunk
