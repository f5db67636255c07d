"""LocalStack lifecycle: refusal on conflicting environments, one stack at a time, clean stop."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest

from local_stack.stack import LocalStack, LocalStackError

pytestmark = pytest.mark.integration

FIXTURE_TEMPLATE = Path(__file__).resolve().parent / "fixtures" / "template.yaml"


def test_conflicting_function_environments_refuse_to_start(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text("""
Resources:
  A:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: a/, Handler: app.h, Runtime: python3.12, Environment: {Variables: {MODE: one}}}
  B:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: b/, Handler: app.h, Runtime: python3.12, Environment: {Variables: {MODE: two}}}
""")
    before = dict(os.environ)

    with pytest.raises(LocalStackError, match="MODE"):
        LocalStack(template, composer=False).start()

    assert dict(os.environ) == before  # everything undone


def test_stop_restores_the_environment() -> None:
    before = dict(os.environ)
    local = LocalStack(
        FIXTURE_TEMPLATE, composer=False, event_sources=False, handlers={"SubmitFunction": lambda e, c: None}
    )
    local.start()
    assert os.environ["OUTPUT_BUCKET"] == local.output_bucket
    assert boto3.client("s3").list_buckets()["Buckets"]
    local.stop()

    assert dict(os.environ) == before


def test_only_one_stack_runs_at_a_time() -> None:
    first = LocalStack(
        FIXTURE_TEMPLATE, composer=False, event_sources=False, handlers={"SubmitFunction": lambda e, c: None}
    )
    with first:
        with pytest.raises(LocalStackError, match="another LocalStack"):
            LocalStack(FIXTURE_TEMPLATE, composer=False).start()
        assert first.client("s3").head_bucket(Bucket=first.input_bucket)  # the refusal touched nothing


def test_a_second_stack_in_the_process_gets_a_cold_start() -> None:
    # The fixture Submit caches its Step Functions client (functools.cache), as the real handlers do;
    # without LocalStack's cold start the second stack's Submit would call the first, dead, endpoint.
    endpoints = []
    for run in range(2):
        with LocalStack(FIXTURE_TEMPLATE, composer=False, retry_visibility_seconds=1) as stack:
            stack.upload(b"image", f"incoming/run-{run}.png")
            assert stack.wait_for_outcome(f"run-{run}", timeout=20).status == "SUCCEEDED"
            endpoints.append(stack.moto_endpoint)
    assert endpoints[0] != endpoints[1]


IAM_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.handler
      Runtime: python3.12
      Policies:
        - S3ReadPolicy:
            BucketName: !Ref Bucket
"""


def test_stop_switches_enforcement_off_and_undoes_every_patch(tmp_path: Path) -> None:
    from moto import settings
    from moto.iam import access_control
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    # GIVEN what moto, botocore and concurrent.futures look like before a stack with enforce_iam starts
    def patched_things() -> tuple[Any, ...]:
        return (
            settings.INITIAL_NO_AUTH_ACTION_COUNT,
            access_control.IAMRequest,
            access_control.S3IAMRequest,
            getattr(lambda_eval_utils, "boto_client_for"),  # noqa: B009
            botocore.session.Session.get_credentials,
            ThreadPoolExecutor.submit,
        )

    before = patched_things()
    template = tmp_path / "template.yaml"
    template.write_text(IAM_TEMPLATE)
    # WHEN it starts and stops
    with LocalStack(
        template, stack_name="ls-iam2", composer=False, handlers={"Fn": lambda e, c: None}, enforce_iam=True
    ):
        running = patched_things()
    # THEN everything was replaced while it ran and is restored after (other stacks in the process run unenforced)
    assert all(now is not then for now, then in zip(running[1:], before[1:], strict=True))
    assert running[0] == 0
    assert patched_things() == before
