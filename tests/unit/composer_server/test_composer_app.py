"""The API and the scheduler without sockets: fake downloads, a controllable renderer."""

from __future__ import annotations

import io
import json
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from poster_composer.api import CREATE_PATH, ComposerApp, HttpRequest, HttpResponse
from poster_composer.errors import TaskFailedError
from poster_composer.faults import ComposerConfig
from poster_composer.production import RenderedPng
from poster_composer.renderer.errors import TitleNotSettableError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from poster_composer.input_media import FetchLimits
    from poster_composer.validation import SynthesisRequest

HEADERS = {"authorization": "Bearer k", "x-dashscope-async": "enable"}
ORIGIN = "http://composer.test:1"


def _png(size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "navy").save(buffer, format="PNG")
    return buffer.getvalue()


class FakeFetcher:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, FetchLimits]] = []
        self.failure: TaskFailedError | None = None
        self.body = _png()

    def __call__(self, url: str, field: str, limits: FetchLimits) -> bytes:
        self.calls.append((url, field, limits))
        if self.failure is not None:
            raise self.failure
        return self.body


class GatedRenderer:
    """Renders instantly unless ``gate`` is closed; records what it was asked."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.calls: list[SynthesisRequest] = []
        self.error: Exception | None = None
        self.dropped: tuple[dict[str, Any], ...] = ()

    def __call__(self, background: bytes, request: SynthesisRequest, logo: bytes | None) -> list[RenderedPng]:
        self.calls.append(request)
        assert self.gate.wait(10)
        if self.error is not None:
            raise self.error
        return [RenderedPng(_png((8 + index, 6)), self.dropped) for index in range(request.n)]


@pytest.fixture
def renderer() -> GatedRenderer:
    return GatedRenderer()


@pytest.fixture
def fetcher() -> FakeFetcher:
    return FakeFetcher()


@pytest.fixture
def app(fetcher: FakeFetcher, renderer: GatedRenderer) -> Iterator[ComposerApp]:
    app = ComposerApp(ComposerConfig(submissions_per_second=None), fetcher=fetcher, renderer=renderer, secret=b"s")
    app.start()
    yield app
    renderer.gate.set()
    app.stop()


def _call(
    app: ComposerApp, method: str, path: str, body: Any = None, query: str = "", headers: dict[str, str] | None = None
) -> HttpResponse:
    raw = b"" if body is None else json.dumps(body).encode()
    return app.handle(HttpRequest(method, path, query, HEADERS if headers is None else headers, raw, ORIGIN))


def _json(response: HttpResponse) -> Any:
    assert response.headers["Content-Type"] == "application/json"
    return json.loads(response.body)


def _create(app: ComposerApp, title: str = "Sale", n: int = 1, **input_fields: Any) -> str:
    body = {
        "model": "wanx-ast",
        "input": {"image_url": "https://img.test/bg.png?sig=s", "title": [title], **input_fields},
        "parameters": {"n": n},
    }
    response = _call(app, "POST", CREATE_PATH, body)
    assert response.status == 200, response.body
    return str(_json(response)["output"]["task_id"])


def _output(app: ComposerApp, task_id: str) -> dict[str, Any]:
    payload = _json(_call(app, "GET", f"/api/v1/tasks/{task_id}"))
    output: dict[str, Any] = payload["output"]
    return output


def _wait(app: ComposerApp, task_id: str, *statuses: str) -> dict[str, Any]:
    wanted = set(statuses) or {"SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN"}
    deadline = time.monotonic() + 10
    while (output := _output(app, task_id))["task_status"] not in wanted:
        assert time.monotonic() < deadline, output
        time.sleep(0.005)
    return output


def test_one_task_at_a_time_in_fifo_order(app: ComposerApp, renderer: GatedRenderer) -> None:
    # GIVEN a render that does not finish until released
    renderer.gate.clear()
    first, second, third = _create(app, "A"), _create(app, "B"), _create(app, "C")
    _wait(app, first, "RUNNING")
    # THEN only the first runs
    assert [_output(app, task)["task_status"] for task in (second, third)] == ["PENDING", "PENDING"]
    assert app.stats_snapshot()["pending"] == 2 and app.stats_snapshot()["in_progress"] == 1
    # WHEN released, all finish in submission order
    renderer.gate.set()
    assert all(_wait(app, task)["task_status"] == "SUCCEEDED" for task in (first, second, third))
    assert [request.title[0] for request in renderer.calls] == ["A", "B", "C"]
    stats = app.stats_snapshot()
    assert stats["max_in_progress_observed"] == 1 and stats["tasks_by_final_status"] == {"SUCCEEDED": 3}


def test_raising_the_limit_at_run_time_starts_waiting_tasks(app: ComposerApp, renderer: GatedRenderer) -> None:
    renderer.gate.clear()
    first, second = _create(app, "A"), _create(app, "B")
    _wait(app, first, "RUNNING")
    app.update_config({"max_in_progress": 2})
    _wait(app, second, "RUNNING")
    renderer.gate.set()
    _wait(app, second)
    assert app.stats_snapshot()["max_in_progress_observed"] == 2


def test_cancel_a_pending_task(app: ComposerApp, renderer: GatedRenderer) -> None:
    renderer.gate.clear()
    first, second = _create(app, "A"), _create(app, "B")
    _wait(app, first, "RUNNING")
    assert _call(app, "POST", f"/api/v1/tasks/{second}/cancel").status == 200
    canceled = _output(app, second)
    assert canceled["task_status"] == "CANCELED" and "end_time" in canceled
    refused = _call(app, "POST", f"/api/v1/tasks/{first}/cancel")
    assert (refused.status, _json(refused)["code"]) == (400, "UnsupportedOperation")
    renderer.gate.set()
    _wait(app, first)
    assert len(renderer.calls) == 1


def test_results_are_signed_urls_on_the_request_origin(
    app: ComposerApp, fetcher: FakeFetcher, renderer: GatedRenderer
) -> None:
    task_id = _create(app, n=2, subtitle=["s"], text=["t"], underlay=1)
    output = _wait(app, task_id)
    urls = [item["url"] for item in output["results"]]
    assert [url.split("?")[0] for url in urls] == [f"{ORIGIN}/results/{task_id}/{i}.png" for i in range(2)]
    assert fetcher.calls[0][:2] == ("https://img.test/bg.png?sig=s", "image_url")
    assert renderer.calls[0].subtitle == ("s",) and renderer.calls[0].underlay == 1
    path, query = urls[1][len(ORIGIN) :].split("?")
    image = _call(app, "GET", path, query=query, headers={})
    assert image.status == 200 and image.headers["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(image.body)) as decoded:
        assert decoded.size == (9, 6)
    assert app.stats_snapshot()["result_downloads"] == 1

    app.update_config({"result_origin": "https://results.test"})
    assert _output(app, task_id)["results"][0]["url"].startswith(f"https://results.test/results/{task_id}/0.png?")


def test_text_a_poster_could_not_place_is_reported_with_its_result(app: ComposerApp, renderer: GatedRenderer) -> None:
    renderer.dropped = ({"role": "text", "index": 1, "text": "Second line"},)

    output = _wait(app, _create(app, text=["First", "Second line"]))

    assert output["results"][0]["dropped"] == [{"role": "text", "index": 1, "text": "Second line"}]
    renderer.dropped = ()
    assert "dropped" not in _wait(app, _create(app))["results"][0]  # nothing dropped: the item is DashScope's own


def test_a_logo_is_downloaded_with_its_own_cap(app: ComposerApp, fetcher: FakeFetcher) -> None:
    _wait(app, _create(app, logo="https://img.test/logo.png"))
    (_, field, limits) = fetcher.calls[1]
    assert field == "logo" and limits.max_bytes == ComposerConfig().max_logo_bytes


def test_render_errors_and_download_errors_fail_the_task(
    app: ComposerApp, fetcher: FakeFetcher, renderer: GatedRenderer
) -> None:
    renderer.error = RuntimeError("boom")
    output = _wait(app, _create(app))
    assert (output["task_status"], output["code"], output["message"]) == ("FAILED", "InternalError", "Inference error")
    fetcher.failure = TaskFailedError("InvalidParameter.DataInspection", "timed out")
    output = _wait(app, _create(app))
    assert (output["code"], output["message"]) == ("InvalidParameter.DataInspection", "timed out")
    assert output["task_metrics"] == {"TOTAL": 1, "SUCCEEDED": 0, "FAILED": 1}


def test_a_title_that_cannot_be_set_fails_the_task_with_its_own_code(app: ComposerApp, renderer: GatedRenderer) -> None:
    renderer.error = TitleNotSettableError("the title cannot be set legibly on a 64x64 canvas")

    output = _wait(app, _create(app))

    assert (output["task_status"], output["code"]) == ("FAILED", "TitleNotSettable")
    assert "64x64" in output["message"]


def test_the_poster_size_reaches_the_renderer(app: ComposerApp, renderer: GatedRenderer) -> None:
    body = {
        "model": "wanx-ast",
        "input": {"image_url": "https://img.test/bg.png?sig=s", "title": ["Sale"]},
        "parameters": {"n": 1, "size": "1080*1920"},
    }

    response = _call(app, "POST", CREATE_PATH, body)
    _wait(app, str(_json(response)["output"]["task_id"]))

    assert renderer.calls[-1].size == (1080, 1920)


def test_a_background_that_is_not_png_or_jpeg_fails(app: ComposerApp, fetcher: FakeFetcher) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="GIF")
    fetcher.body = buffer.getvalue()
    output = _wait(app, _create(app))
    assert output["code"] == "InvalidParameter" and "only PNG and JPG" in output["message"]


def test_all_images_failing_inspection_fails_the_task(app: ComposerApp) -> None:
    app.update_config({"rules": [{"match": "all", "partial": [0, 1]}]})
    output = _wait(app, _create(app, "all bad", n=2))
    assert (output["task_status"], output["code"]) == ("FAILED", "DataInspectionFailed")


def test_reset_forgets_tasks_even_while_one_renders(app: ComposerApp, renderer: GatedRenderer) -> None:
    renderer.gate.clear()
    running = _create(app, "A")
    _wait(app, running, "RUNNING")
    app.update_config({"max_in_progress": 1, "task_seconds": 0})
    app.reset()
    assert _output(app, running)["task_status"] == "UNKNOWN"
    renderer.gate.set()
    assert _wait(app, _create(app, "B"))["task_status"] == "SUCCEEDED"
    assert app.stats_snapshot()["submissions"]["accepted"] == 1


def test_query_faults_and_query_quota(app: ComposerApp) -> None:
    task_id = _create(app)
    app.update_config({"query_5xx_rate": 1.0})
    response = _call(app, "GET", f"/api/v1/tasks/{task_id}")
    assert (response.status, _json(response)["code"]) == (503, "ServiceUnavailable")
    app.update_config({"query_5xx_rate": 0.0, "queries_per_second": 1})
    assert _call(app, "GET", f"/api/v1/tasks/{task_id}").status == 200
    assert _call(app, "GET", f"/api/v1/tasks/{task_id}").status == 429


def test_list_filters(app: ComposerApp) -> None:
    first = _create(app, "A")
    _wait(app, first)
    second = _create(app, "B")
    _wait(app, second)
    listed = _json(_call(app, "GET", "/api/v1/tasks", query="status=SUCCEEDED&model_name=wanx-ast"))
    assert [item["task_id"] for item in listed["data"]] == [second, first]
    assert _json(_call(app, "GET", "/api/v1/tasks", query="start_time=20990101000000"))["total"] == 0
    assert _json(_call(app, "GET", "/api/v1/tasks", query="end_time=20990101000000"))["total"] == 2
    for bad in ("page_size=0", "page_no=x", "start_time=yesterday"):
        assert _call(app, "GET", "/api/v1/tasks", query=bad).status == 400


def test_stats_keys(app: ComposerApp) -> None:
    assert set(app.stats_snapshot()) == {
        "started_at",
        "submissions",
        "submissions_by_input",
        "submission_times",
        "accepted_submission_times",
        "max_submissions_in_1s",
        "max_accepted_in_1s",
        "tasks_by_final_status",
        "in_progress",
        "pending",
        "max_in_progress_observed",
        "busy_intervals",
        "busy_seconds",
        "result_downloads",
        "result_downloads_rejected",
        "queries",
    }


def test_bad_control_requests(app: ComposerApp) -> None:
    bad_json = app.handle(HttpRequest("PUT", "/_composer/config", body=b"{"))
    assert bad_json.status == 400
    assert app.handle(HttpRequest("DELETE", "/_composer/config")).status == 405
    assert app.handle(HttpRequest("GET", "/")).status == 404
