"""LocalStack end to end on the fixture template: S3 -> SQS -> Submit -> Step Functions -> handlers."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from local_stack.stack import LocalStack

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
FIXTURE_TEMPLATE = HERE / "fixtures" / "template.yaml"
COMPOSER_STUB = [sys.executable, str(HERE / "fixtures" / "composer_stub.py")]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    local = LocalStack(
        FIXTURE_TEMPLATE,
        {"Greeting": "hi"},
        stack_name="ls-test",
        composer_command=COMPOSER_STUB,
        composer_tls=False,
        composer_config={"quota": 1},
        retry_visibility_seconds=1,
    )
    with local:
        yield local


def test_endpoints_and_environment_come_from_the_template(stack: LocalStack) -> None:
    assert stack.moto_endpoint.startswith("http://localhost:")
    assert stack.input_bucket == "ls-test-input-123456789012"
    assert stack.output_bucket == "ls-test-outputbucket"
    assert stack.queue_url.endswith("/ls-test-UploadQueue")
    assert stack.dlq_url.endswith("/ls-test-UploadDLQ")
    assert stack.events_queue_url.endswith("/poster-events")
    assert stack.state_machine_arn == "arn:aws:states:us-east-1:123456789012:stateMachine:JobStateMachine"
    assert stack.api_key.startswith("sk-local-")
    assert stack.composer_origin.startswith("http://localhost:")
    assert os.environ["AWS_ENDPOINT_URL"] == stack.moto_endpoint
    assert os.environ["GREETING"] == "hi"
    assert os.environ["STATE_MACHINE_ARN"] == stack.state_machine_arn
    assert os.environ["SECRET_ARN"] == stack.resources.secret_arns["ApiKeySecret"]  # the real, suffixed ARN
    assert os.environ["DASHSCOPE_BASE_URL"] == f"{stack.composer_origin}/api/v1"
    assert os.environ["RESULT_HOST_ALLOWLIST"] == stack.composer_origin.removeprefix("http://")


def test_resources_exist_as_declared(stack: LocalStack) -> None:
    s3 = stack.client("s3")
    assert s3.get_bucket_versioning(Bucket=stack.input_bucket)["Status"] == "Enabled"
    (config,) = s3.get_bucket_notification_configuration(Bucket=stack.input_bucket)["QueueConfigurations"]
    assert config["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "incoming/"}]
    secret = stack.client("secretsmanager").get_secret_value(SecretId="ls-test/api-key")
    assert secret["SecretString"] == stack.api_key
    table = stack.client("dynamodb").describe_table(TableName=os.environ["IDEMPOTENCY_TABLE"])["Table"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    names = {f["FunctionName"] for f in stack.client("lambda").list_functions()["Functions"]}
    assert names == {"ls-test-SubmitFunction", "ls-test-WorkFunction", "ls-test-RecordFailureFunction"}
    redrive = stack.client("sqs").get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["RedrivePolicy"])
    assert json.loads(redrive["Attributes"]["RedrivePolicy"])["maxReceiveCount"] == 2


def test_an_upload_runs_the_pipeline_to_a_manifest(stack: LocalStack) -> None:
    stack.upload(b"image bytes", "incoming/happy day.png", {"poster-title": "Hi"})

    outcome = stack.wait_for_outcome("happy day", timeout=20)

    assert outcome.status == "SUCCEEDED"
    assert outcome.manifest is not None
    assert outcome.manifest["function"] == "ls-test-WorkFunction"
    assert 0 < outcome.manifest["remaining_ms"] <= 20_000  # the template's Timeout
    assert outcome.manifest["key_length"] == len(stack.api_key)
    assert [e.status for e in outcome.executions] == ["SUCCEEDED"]
    assert any(e["detail"] == {"stem": "happy day", "outcome": "SUCCEEDED"} for e in _events(stack, "happy day"))


def test_a_handler_exception_is_caught_and_recorded(stack: LocalStack) -> None:
    stack.upload(b"image bytes", "incoming/will-fail.png")

    outcome = stack.wait_for_outcome("will-fail", timeout=20)

    assert outcome.status == "FAILED"
    assert outcome.failure is not None
    assert outcome.failure["code"] == "WorkFailedError"
    assert json.loads(outcome.failure["message"])["errorType"] == "WorkFailedError"
    assert [e.status for e in outcome.executions] == ["FAILED"]


def test_retry_matches_the_error_name(stack: LocalStack) -> None:
    stack.upload(b"image bytes", "incoming/flaky.png")

    outcome = stack.wait_for_outcome("flaky", timeout=20)

    assert outcome.status == "SUCCEEDED"
    assert outcome.manifest is not None and outcome.manifest["attempts"] == 2


def test_a_poison_upload_ends_in_the_dlq(stack: LocalStack) -> None:
    stack.upload(b"image bytes", "incoming/poison.png")

    deadline = time.monotonic() + 20
    while not any("poison.png" in body for body in stack.dlq_messages()):
        assert time.monotonic() < deadline, "poison message never reached the DLQ"
        time.sleep(0.2)


def test_uploads_outside_the_prefix_do_not_start_jobs(stack: LocalStack) -> None:
    before = len(stack.executions())
    stack.upload(b"image bytes", "elsewhere/ignored.png")
    time.sleep(1.5)

    assert len(stack.executions()) == before


def test_composer_control_api(stack: LocalStack) -> None:
    assert stack.set_composer_config({"quota": 3}) == {"quota": 3}
    assert stack.composer is not None and stack.composer.get_config() == {"quota": 3}
    assert stack.composer_stats()["requests"] >= 2


def _events(stack: LocalStack, stem: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 5
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found += [e for e in stack.events(wait_seconds=1) if isinstance(e.get("detail"), dict)]
        if any(e["detail"].get("stem") == stem for e in found):
            break
    return found
