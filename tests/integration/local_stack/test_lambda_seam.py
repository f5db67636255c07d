"""The seam: moto's Docker-less Lambda ``invoke`` routed to in-process handlers."""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from local_stack.lambda_seam import FakeLambdaContext, LambdaSeam, LambdaTarget

if TYPE_CHECKING:
    from collections.abc import Iterator

    from local_stack.moto_server import MotoServer

pytestmark = pytest.mark.integration

ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"


class BoomError(Exception):
    """A named failure Step Functions must see as its error name."""


def _echo(event: Any, context: Any) -> dict[str, Any]:
    return {
        "event": event,
        "function_name": context.function_name,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "remaining": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
    }


def _boom(event: Any, context: Any) -> None:
    raise BoomError("no poster today")


@pytest.fixture
def seam(moto_server: MotoServer) -> Iterator[LambdaSeam]:
    seam = LambdaSeam()
    seam.register(LambdaTarget("echo", ARN.format("echo"), _echo, timeout_seconds=7, memory_mb=512))
    seam.register(LambdaTarget("boom", ARN.format("boom"), _boom))
    with seam:
        yield seam


def _payload(response: dict[str, Any]) -> Any:
    return json.loads(response["Payload"].read())


def test_invoke_by_name_runs_the_handler_with_a_context(seam: LambdaSeam) -> None:
    response = boto3.client("lambda").invoke(FunctionName="echo", Payload=json.dumps({"task_id": "t-1"}))

    assert "FunctionError" not in response
    payload = _payload(response)
    assert payload["event"] == {"task_id": "t-1"}
    assert payload["function_name"] == "echo"
    assert payload["arn"] == ARN.format("echo")
    assert payload["memory"] == 512
    assert 6000 < payload["remaining"] <= 7000
    assert seam.invocations == [("echo", True)]


def test_invoke_by_arn_with_qualifier_routes_to_the_same_handler(seam: LambdaSeam) -> None:
    response = boto3.client("lambda").invoke(FunctionName=ARN.format("echo") + ":$LATEST", Payload=b"")

    assert _payload(response)["event"] == {}


def test_an_exception_becomes_an_unhandled_function_error(seam: LambdaSeam) -> None:
    response = boto3.client("lambda").invoke(FunctionName="boom", Payload=b"{}")

    assert response["FunctionError"] == "Unhandled"
    assert _payload(response) == {"errorType": "BoomError", "errorMessage": "no poster today"}
    assert seam.invocations == [("boom", False)]


def test_an_unregistered_function_is_an_error_not_an_echo(seam: LambdaSeam) -> None:
    response = boto3.client("lambda").invoke(FunctionName="nobody", Payload=b"{}")

    assert response["FunctionError"] == "Unhandled"
    assert _payload(response)["errorType"] == "ResourceNotFoundException"


def _run(definition: dict[str, Any], execution_input: dict[str, Any]) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    arn = sfn.create_state_machine(
        name=f"seam-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/seam",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(execution_input))["executionArn"]
    deadline = time.monotonic() + 20
    while True:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return dict(described)
        time.sleep(0.05)


def _task(function: str, **extra: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": ARN.format(function), "Payload.$": "$"},
        **extra,
    }


def test_step_functions_catch_matches_the_exception_class_name(seam: LambdaSeam) -> None:
    definition = {
        "StartAt": "Echo",
        "States": {
            "Echo": _task("echo", ResultSelector={"fn.$": "$.Payload.function_name"}, ResultPath="$.echo", Next="Boom"),
            "Boom": _task(
                "boom",
                Catch=[
                    {"ErrorEquals": ["SomethingElse"], "Next": "Wrong"},
                    {"ErrorEquals": ["BoomError"], "ResultPath": "$.error", "Next": "Caught"},
                ],
                Next="Wrong",
            ),
            "Wrong": {"Type": "Fail", "Error": "Wrong"},
            "Caught": {"Type": "Succeed"},
        },
    }

    described = _run(definition, {"job": 1})

    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["echo"] == {"fn": "echo"}
    assert output["error"]["Error"] == "BoomError"
    assert json.loads(output["error"]["Cause"]) == {"errorType": "BoomError", "errorMessage": "no poster today"}


def test_an_uncaught_error_fails_the_execution_with_its_name(seam: LambdaSeam) -> None:
    described = _run({"StartAt": "Boom", "States": {"Boom": _task("boom", End=True)}}, {})

    assert described["status"] == "FAILED"
    assert described["error"] == "BoomError"


def test_uninstall_restores_moto_echo(moto_server: MotoServer) -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    original = LambdaSimpleBackend.invoke
    seam = LambdaSeam()
    seam.register(LambdaTarget("echo", ARN.format("echo"), _echo))
    with seam:
        assert seam.installed
        assert LambdaSimpleBackend.invoke is not original
        with pytest.raises(RuntimeError):
            LambdaSeam().install()
    assert not seam.installed
    assert LambdaSimpleBackend.invoke is original
    response = boto3.client("lambda").invoke(FunctionName="echo", Payload=b'{"x": 1}')
    assert _payload(response) == {"x": 1}  # moto's own behaviour: echo


def test_fake_context_counts_down_and_never_goes_negative() -> None:
    context = FakeLambdaContext("fn", ARN.format("fn"), 128, 0)

    assert context.get_remaining_time_in_millis() == 0
    assert context.function_version == "$LATEST"
    assert context.log_group_name == "/aws/lambda/fn"
