"""Run the real ``poster.asl.json`` in moto's Step Functions interpreter with scripted Lambda answers.

In-process ``mock_aws`` (no server, no sockets). The Lambda backend is moto's ``LambdaSimpleBackend``
with its ``invoke`` replaced by a script keyed on the function name, so each test states what Poll,
Finalize and RecordFailure answer and checks the path the execution took. Waits are 0 s; only the
retry test sleeps (at most the first retry interval, with full jitter).
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend

from tests.unit.infra.cfn_yaml import REPO

if TYPE_CHECKING:
    from collections.abc import Iterator

REGION = "us-east-1"
FUNCTIONS = {
    "PollFunctionArn": "poster-poll",
    "FinalizeFunctionArn": "poster-finalize",
    "RecordFailureFunctionArn": "poster-record-failure",
    "SlotsFunctionArn": "poster-slots",
}
RELEASE = {"action": "release", "job_id": "abc"}
Answer = dict[str, Any] | Exception


class ScriptedLambdas:
    """Answers per function (a list consumed in order; the last answer repeats) and the calls seen."""

    def __init__(self) -> None:
        self.answers: dict[str, list[Answer]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def invoke(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes:
        name = function_name.rsplit(":", 1)[-1]
        payload = json.loads(body) if body else {}
        self.calls.append((name, payload))
        queue = self.answers.get(name) or [{}]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            response_headers["x-amz-function-error"] = "Unhandled"
            body_out = {"errorType": type(answer).__name__, "errorMessage": str(answer)}
            return json.dumps(body_out).encode()
        return json.dumps(answer).encode()

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


class TransientError(Exception):
    """Same class name as poster_common's: Step Functions matches on the name."""


class NoResultCopiedError(Exception):
    pass


@pytest.fixture
def lambdas(monkeypatch: pytest.MonkeyPatch) -> ScriptedLambdas:
    script = ScriptedLambdas()

    def invoke(
        _self: Any, function_name: str, _qualifier: Any, body: Any, _headers: Any, response_headers: Any
    ) -> bytes:
        return script.invoke(function_name, body, response_headers)

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
    return script


@pytest.fixture
def state_machine_arn(lambdas: ScriptedLambdas) -> Iterator[str]:
    config = {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}
    with mock_aws(config=config):  # type: ignore[call-overload]
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="poster-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        awslambda = boto3.client("lambda", region_name=REGION)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("app.py", "def lambda_handler(event, context):\n    return {}\n")
        arns = {}
        for placeholder, name in FUNCTIONS.items():
            arns[placeholder] = awslambda.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="app.lambda_handler",
                Code={"ZipFile": archive.getvalue()},
            )["FunctionArn"]
        text = (REPO / "statemachine" / "poster.asl.json").read_text(encoding="utf-8")
        definition = re.sub(r"\$\{([A-Za-z0-9_]+)\}", lambda m: arns[m.group(1)], text)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        yield sfn.create_state_machine(name="poster", definition=definition, roleArn=role)["stateMachineArn"]


def _poll(status: str, attempt: int, **extra: Any) -> dict[str, Any]:
    return {
        "status": status,
        "terminal": status not in {"PENDING", "RUNNING", "SUSPENDED"},
        "attempt": attempt,
        "wait_seconds": 0,
        "elapsed_seconds": float(attempt),
        "request_id": f"r{attempt}",
        "code": None,
        "message": None,
        "task_metrics": None,
        **extra,
    }


def _execution_input(max_attempts: int = 720) -> dict[str, Any]:
    return {
        "job": {
            "job_id": "abc",
            "stem": "a/b",
            "model": "wanx-ast",
            "submitted_at": "2026-11-24T09:00:00.000Z",
            "source": {"bucket": "in", "key": "incoming/a/b.jpg", "version_id": None, "etag": "e"},
            "spec": {
                "title": ["t"],
                "subtitle": [],
                "text": [],
                "underlay": 0,
                "logo_key": None,
                "n": 1,
                "temperature": 0.7,
            },
        },
        "task": {"task_id": "task-1", "request_id": "req-0"},
        "limits": {"max_attempts": max_attempts, "max_wait_seconds": 3600},
        "poll": {"status": "PENDING", "attempt": 0, "wait_seconds": 0, "elapsed_seconds": 0},
    }


def _run(arn: str, execution_input: dict[str, Any], timeout: float = 20.0) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(execution_input))["executionArn"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described: dict[str, Any] = dict(sfn.describe_execution(executionArn=execution))
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError("execution did not finish in time")


def test_pending_running_then_succeeded_finalizes(lambdas: ScriptedLambdas, state_machine_arn: str) -> None:
    # GIVEN a task that is pending, running, then done
    lambdas.answers["poster-poll"] = [_poll("PENDING", 1), _poll("RUNNING", 2), _poll("SUCCEEDED", 3)]
    lambdas.answers["poster-finalize"] = [
        {"outcome": "SUCCEEDED", "output_keys": ["posters/a/b/0.png"], "manifest_key": "posters/a/b/manifest.json"}
    ]
    # WHEN the execution runs
    result = _run(state_machine_arn, _execution_input())
    # THEN it polled three times, released its slot, finalized once and succeeded with the result at $.finalize
    assert result["status"] == "SUCCEEDED"
    assert lambdas.names() == ["poster-poll"] * 3 + ["poster-slots", "poster-finalize"]
    assert lambdas.calls[3][1] == RELEASE
    assert [p["attempt"] for n, p in lambdas.calls if n == "poster-poll"] == [0, 1, 2]
    assert lambdas.calls[0][1] == {"task_id": "task-1", "attempt": 0, "submitted_at": "2026-11-24T09:00:00.000Z"}
    finalize_input = lambdas.calls[-1][1]
    assert finalize_input["poll"]["status"] == "SUCCEEDED"
    assert finalize_input["job"]["job_id"] == "abc"
    output = json.loads(result["output"])
    assert output["finalize"]["outcome"] == "SUCCEEDED"
    assert "Payload" not in output["poll"]


@pytest.mark.parametrize("status", ["FAILED", "CANCELED", "UNKNOWN"])
def test_task_that_did_not_succeed_is_recorded_as_stage_task(
    lambdas: ScriptedLambdas, state_machine_arn: str, status: str
) -> None:
    lambdas.answers["poster-poll"] = [_poll(status, 1, code="InternalError", message="boom")]
    result = _run(state_machine_arn, _execution_input())
    assert result["status"] == "FAILED"
    assert lambdas.names() == ["poster-poll", "poster-slots", "poster-record-failure"]
    recorded = lambdas.calls[-1][1]
    assert recorded["failed_stage"] == "task"
    assert recorded["poll"]["code"] == "InternalError"


def test_attempt_cap_is_recorded_as_timeout(lambdas: ScriptedLambdas, state_machine_arn: str) -> None:
    lambdas.answers["poster-poll"] = [_poll("RUNNING", 1), _poll("RUNNING", 2)]
    result = _run(state_machine_arn, _execution_input(max_attempts=2))
    assert result["status"] == "FAILED"
    assert lambdas.names() == ["poster-poll", "poster-poll", "poster-slots", "poster-record-failure"]
    assert lambdas.calls[-1][1]["failed_stage"] == "timeout"


def test_finalize_error_is_caught_and_recorded_as_stage_finalize(
    lambdas: ScriptedLambdas, state_machine_arn: str
) -> None:
    lambdas.answers["poster-poll"] = [_poll("SUCCEEDED", 1)]
    lambdas.answers["poster-finalize"] = [NoResultCopiedError("no result could be copied")]
    result = _run(state_machine_arn, _execution_input())
    assert result["status"] == "FAILED"
    # no retry; the slot was released once, before Finalize
    assert lambdas.names() == ["poster-poll", "poster-slots", "poster-finalize", "poster-record-failure"]
    recorded = lambdas.calls[-1][1]
    assert recorded["failed_stage"] == "finalize"
    assert recorded["error"]["Error"] == "NoResultCopiedError"


def test_transient_poll_error_is_retried(lambdas: ScriptedLambdas, state_machine_arn: str) -> None:
    lambdas.answers["poster-poll"] = [TransientError("HTTP 503"), _poll("SUCCEEDED", 1)]
    lambdas.answers["poster-finalize"] = [{"outcome": "SUCCEEDED", "output_keys": [], "manifest_key": "m"}]
    result = _run(state_machine_arn, _execution_input())
    assert result["status"] == "SUCCEEDED"
    assert lambdas.names() == ["poster-poll", "poster-poll", "poster-slots", "poster-finalize"]


def test_record_failure_failing_ends_the_execution_failed(lambdas: ScriptedLambdas, state_machine_arn: str) -> None:
    lambdas.answers["poster-poll"] = [_poll("FAILED", 1)]
    lambdas.answers["poster-record-failure"] = [ValueError("bucket gone")]
    result = _run(state_machine_arn, _execution_input())
    assert result["status"] == "FAILED"
    assert lambdas.names() == ["poster-poll", "poster-slots", "poster-record-failure"]


def test_poll_failure_and_a_failing_release_still_reach_record_failure(
    lambdas: ScriptedLambdas, state_machine_arn: str
) -> None:
    # GIVEN a poll that fails for good and a Slots function that fails too
    lambdas.answers["poster-poll"] = [ValueError("bad answer")]
    lambdas.answers["poster-slots"] = [ValueError("table gone")]
    # WHEN the execution runs
    result = _run(state_machine_arn, _execution_input())
    # THEN the release was tried once (the lease expiry and the status-change clean-up are the backstop)
    # AND the failure is still recorded as stage poll
    assert result["status"] == "FAILED"
    assert lambdas.names() == ["poster-poll", "poster-slots", "poster-record-failure"]
    recorded = lambdas.calls[-1][1]
    assert recorded["failed_stage"] == "poll"
    assert recorded["release_error"]["Error"] == "ValueError"


def test_finalize_crash_after_writing_is_retried(lambdas: ScriptedLambdas, state_machine_arn: str) -> None:
    # GIVEN a Finalize that is killed by its timeout once, then completes
    crash = type("Sandbox.Timedout", (Exception,), {})("Task timed out after 300.00 seconds")
    lambdas.answers["poster-poll"] = [_poll("SUCCEEDED", 1)]
    lambdas.answers["poster-finalize"] = [crash, {"outcome": "SUCCEEDED", "output_keys": [], "manifest_key": "m"}]
    # WHEN the execution runs (the first retry waits at most 2 s: full jitter)
    result = _run(state_machine_arn, _execution_input())
    # THEN Finalize ran again and the job succeeded
    assert result["status"] == "SUCCEEDED"
    assert lambdas.names() == ["poster-poll", "poster-slots", "poster-finalize", "poster-finalize"]
