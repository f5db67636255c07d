"""The state machine's three handlers with a fake Lambda context: each parses its sample event into the typed
payload its domain call takes, returns the domain's answer, and emits the documented metric."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from local_stack.lambda_seam import FakeLambdaContext
from poster_common import observability, services
from poster_common.payloads import ExecutionState, PollRequest
from tests.conftest import load_event

if TYPE_CHECKING:
    from types import ModuleType


@pytest.fixture(autouse=True)
def _handler_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "PosterPipeline")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "poster-pipeline")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setattr(services, "from_environment", lambda: _FakeServices())
    observability.metrics.clear_metrics()


class _FakeServices:
    """What a handler hands on to its domain call (the fakes below never touch it)."""


def _context(name: str) -> FakeLambdaContext:
    return FakeLambdaContext(name, f"arn:aws:lambda:us-east-1:123456789012:function:{name}", 256, 30)


def _metric_names(output: str) -> set[str]:
    blobs = [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]
    return {m["Name"] for blob in blobs for m in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]}


def _handler(name: str) -> ModuleType:
    import importlib

    return importlib.import_module(f"functions.{name}.app")


def test_finalize_parses_the_execution_state_and_counts_the_images(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = _handler("finalize")
    seen: list[ExecutionState] = []

    def finalize_job(state: ExecutionState, deps: Any, remaining: Any) -> dict[str, Any]:
        seen.append(state)
        assert remaining() > 0
        return {"outcome": "SUCCEEDED", "output_keys": ["posters/a/0.png", "posters/a/1.png"], "manifest_key": "m"}

    monkeypatch.setattr(app, "finalize_job", finalize_job)
    event = load_event("finalize_sfn_two_images.json")

    result = app.lambda_handler(event, _context("poster-finalize"))

    assert result["outcome"] == "SUCCEEDED"
    (state,) = seen
    assert state.job.job_id == event["job"]["job_id"] and state.task is not None
    assert state.task.task_id == event["task"]["task_id"]
    assert "ImagesCopied" in _metric_names(capsys.readouterr().out)


def test_record_failure_parses_the_failed_stage_and_counts_the_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = _handler("record_failure")
    seen: list[ExecutionState] = []

    def record_failure(state: ExecutionState, deps: Any) -> dict[str, Any]:
        seen.append(state)
        return {"failure_key": "failed/a.json", "code": "InternalError"}

    monkeypatch.setattr(app, "record_failure", record_failure)
    event = load_event("record_failure_sfn_task_failed.json")

    result = app.lambda_handler(event, _context("poster-record-failure"))

    assert result == {"failure_key": "failed/a.json", "code": "InternalError"}
    (state,) = seen
    assert state.failed_stage == event["failed_stage"]
    assert state.poll is not None and state.poll.status == event["poll"]["status"]
    assert "PosterFailed" in _metric_names(capsys.readouterr().out)


def test_poll_parses_its_request_and_answers_what_the_state_machine_selects(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _handler("poll")
    seen: list[PollRequest] = []

    def poll_learning(task_id: str, attempt: int, submitted_at: str, **_: Any) -> dict[str, Any]:
        seen.append(PollRequest(task_id, attempt, submitted_at))
        return {"status": "RUNNING", "attempt": attempt + 1}

    monkeypatch.setattr(app, "poll_learning", poll_learning)
    monkeypatch.setattr(services, "from_environment", lambda: _PollDeps())
    event = load_event("poll_sfn_pending.json")

    result = app.lambda_handler(event, _context("poster-poll"))

    assert seen == [PollRequest.from_event(event)]
    assert result == {"status": "RUNNING", "attempt": int(event.get("attempt") or 0) + 1}


class _PollDeps:
    api = durations = None

    class settings:
        model = "wanx-ast"
        poll_schedule = (1,)
        poll_hold_seconds = 0.0
        poll_hold_interval = 0.1
