from __future__ import annotations

import pytest
import requests

from poster_common.errors import ApiRejectedError, TransientError
from poster_common.models import TaskStatus
from poster_common.poster_api import PosterApiClient, parse_task
from tests.unit.domain.fakes import FakeResponse, ScriptedSession

BASE = "https://dashscope.example/api/v1"
ACCEPTED = {"request_id": "r-1", "output": {"task_id": "t-1", "task_status": "PENDING"}}


def client(session: ScriptedSession, sleeps: list[float] | None = None, attempts: int = 4) -> PosterApiClient:
    return PosterApiClient(
        BASE,
        api_key=lambda: "sk-secret",
        session=session,  # type: ignore[arg-type]
        max_attempts=attempts,
        sleep=(sleeps if sleeps is not None else []).append,
        delays=lambda n: [0.1 * (i + 1) for i in range(n - 1)],
    )


def test_submit_sends_exactly_the_documented_request() -> None:
    # GIVEN an API that accepts the task
    session = ScriptedSession([FakeResponse(200, ACCEPTED)])
    # WHEN we submit
    task = client(session).submit("wanx-ast", {"title": ["Hi"], "image_url": "https://x/y.png"}, {"n": 1})
    # THEN the request is the documented one and the task id comes back
    call = session.calls[0]
    assert call["method"] == "POST"
    assert call["url"] == BASE + "/services/aigc/text2image/image-synthesis"
    assert call["headers"] == {
        "Authorization": "Bearer sk-secret",
        "Content-Type": "application/json",
        "X-DashScope-Async": "enable",
    }
    assert call["json"] == {
        "model": "wanx-ast",
        "input": {"title": ["Hi"], "image_url": "https://x/y.png"},
        "parameters": {"n": 1},
    }
    assert call["allow_redirects"] is False
    assert call["timeout"] == (3.05, 30.0)
    assert (task.task_id, task.request_id) == ("t-1", "r-1")


def test_submit_retries_429_then_succeeds() -> None:
    throttled = {"request_id": "r", "code": "Throttling.RateQuota", "message": "Requests rate limit exceeded"}
    session = ScriptedSession([FakeResponse(429, throttled), FakeResponse(503, {}), FakeResponse(200, ACCEPTED)])
    sleeps: list[float] = []
    task = client(session, sleeps).submit("wanx-ast", {"title": ["Hi"]}, {})
    assert task.task_id == "t-1"
    assert len(session.calls) == 3
    assert sleeps == [0.1, 0.2]


def test_submit_retries_connection_errors_up_to_the_cap() -> None:
    session = ScriptedSession([requests.ConnectionError("boom")] * 3)
    with pytest.raises(TransientError):
        client(session, attempts=3).submit("wanx-ast", {"title": ["Hi"]}, {})
    assert len(session.calls) == 3


def test_submit_never_retries_a_validation_error() -> None:
    rejected = {"request_id": "r-9", "code": "InvalidParameter", "message": "Title field missing."}
    session = ScriptedSession([FakeResponse(400, rejected)])
    with pytest.raises(ApiRejectedError) as info:
        client(session).submit("wanx-ast", {}, {})
    assert (info.value.code, info.value.message, info.value.request_id) == (
        "InvalidParameter",
        "Title field missing.",
        "r-9",
    )
    assert len(session.calls) == 1


def test_errors_never_carry_the_api_key() -> None:
    session = ScriptedSession([FakeResponse(401, {"code": "InvalidApiKey", "message": "Invalid API-key provided."})])
    with pytest.raises(ApiRejectedError) as info:
        client(session).submit("wanx-ast", {}, {})
    assert "sk-secret" not in str(info.value)


def test_query_normalises_partial_success() -> None:
    body = {
        "request_id": "q-1",
        "output": {
            "task_id": "t-1",
            "task_status": "SUCCEEDED",
            "results": [{"url": "https://h/1.png?Signature=s"}, {"code": "DataInspectionFailed", "message": "no"}],
            "task_metrics": {"TOTAL": 2, "SUCCEEDED": 1, "FAILED": 1},
        },
        "usage": {"image_count": 1},
    }
    snapshot = client(ScriptedSession([FakeResponse(200, body)])).query("t-1")
    assert snapshot.status is TaskStatus.SUCCEEDED
    assert [r.url for r in snapshot.results] == ["https://h/1.png?Signature=s", None]
    assert snapshot.results[1].code == "DataInspectionFailed"
    assert snapshot.image_count == 1


@pytest.mark.parametrize("status", [429, 500, 503, 504])
def test_query_server_trouble_is_transient(status: int) -> None:
    with pytest.raises(TransientError):
        client(ScriptedSession([FakeResponse(status, {"code": "x"})])).query("t-1")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("SUSPENDED", TaskStatus.SUSPENDED), ("weird", TaskStatus.UNKNOWN), (None, TaskStatus.UNKNOWN)],
)
def test_unrecognised_status_is_unknown(raw: str | None, expected: TaskStatus) -> None:
    assert parse_task("t", {"output": {"task_status": raw}}).status is expected
    assert TaskStatus.SUSPENDED.terminal is False
    assert TaskStatus.UNKNOWN.terminal is True
