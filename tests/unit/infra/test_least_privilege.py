"""Least privilege, from the expanded policies (template.yaml translated by aws-sam-translator).

What each function needs is exercised end to end in tests/e2e/test_security.py (every recorded AWS call
is allowed by the function's own policy, and moto, enforcing IAM, refused none); the same refusals as
real calls against the running stack are in tests/e2e/test_least_privilege.py. Here, on the documents
alone: what each function and the state machine must NOT be able to do, and a few things they must.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local_stack.iam.policies import policy_allows
from local_stack.template import Template
from tests.iam import role_policies, translated_template

ROOT = Path(__file__).resolve().parents[3]
IN = "arn:aws:s3:::poster-local-input-123456789012-us-east-1"
OUT = "arn:aws:s3:::poster-local-outputbucket"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:poster-pipeline/dashscope-api-key"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/poster-local-IdempotencyTable"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:poster-local-poster"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:"


@pytest.fixture(scope="module")
def policies() -> dict[str, list[dict[str, Any]]]:
    template = Template(ROOT / "template.yaml", {}, stack_name="poster-local", queue_endpoint="http://localhost:1")
    return role_policies(template)


@pytest.mark.parametrize(
    ("function", "action", "resource"),
    [
        ("SubmitFunction", "s3:PutObject", f"{OUT}/posters/x/0.png"),
        ("SubmitFunction", "s3:PutObject", f"{IN}/incoming/x.jpg"),
        ("SubmitFunction", "s3:DeleteObject", f"{IN}/incoming/x.jpg"),
        ("SubmitFunction", "s3:GetObject", f"{OUT}/posters/x/0.png"),
        ("SubmitFunction", "secretsmanager:PutSecretValue", SECRET),
        ("SubmitFunction", "dynamodb:Scan", TABLE),
        ("SubmitFunction", "states:StopExecution", MACHINE),
        ("PollFunction", "s3:GetObject", f"{IN}/incoming/x.jpg"),
        ("PollFunction", "s3:PutObject", f"{OUT}/posters/x/0.png"),
        ("PollFunction", "s3:ListBucket", IN),
        ("PollFunction", "events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/default"),
        ("PollFunction", "states:StartExecution", MACHINE),
        ("FinalizeFunction", "s3:GetObject", f"{IN}/incoming/x.jpg"),
        ("FinalizeFunction", "s3:PutObject", f"{OUT}/failed/x.json"),
        ("FinalizeFunction", "s3:PutObject", f"{IN}/incoming/x.jpg"),
        ("FinalizeFunction", "s3:DeleteObject", f"{OUT}/posters/x/0.png"),
        ("FinalizeFunction", "states:StartExecution", MACHINE),
        ("RecordFailureFunction", "s3:PutObject", f"{OUT}/posters/x/0.png"),
        ("RecordFailureFunction", "s3:GetObject", f"{IN}/incoming/x.jpg"),
        ("RecordFailureFunction", "secretsmanager:GetSecretValue", SECRET),
        ("RecordFailureFunction", "s3:PutObject", f"{OUT}/normalised/x.jpg"),
        ("PosterStateMachine", "lambda:InvokeFunction", f"{FUNCTION}other"),
        ("PosterStateMachine", "s3:GetObject", f"{IN}/incoming/x.jpg"),
        ("PosterStateMachine", "secretsmanager:GetSecretValue", SECRET),
        ("PosterStateMachine", "states:StartExecution", MACHINE),
    ],
)
def test_functions_cannot_do_what_they_do_not_need(
    policies: dict[str, list[dict[str, Any]]], function: str, action: str, resource: str
) -> None:
    # GIVEN the function's expanded policy WHEN the action is evaluated (moto's IAM evaluator) THEN it is denied
    assert not policy_allows(policies[function], action, resource)


@pytest.mark.parametrize(
    ("function", "action", "resource"),
    [
        ("SubmitFunction", "s3:GetObjectVersion", f"{IN}/incoming/x.jpg"),
        ("SubmitFunction", "s3:PutObject", f"{OUT}/failed/x.json"),
        ("SubmitFunction", "s3:PutObject", f"{OUT}/normalised/j.jpg"),
        ("PollFunction", "secretsmanager:GetSecretValue", SECRET),
        ("FinalizeFunction", "secretsmanager:GetSecretValue", SECRET),  # Finalize queries the task itself
        ("FinalizeFunction", "s3:PutObject", f"{OUT}/posters/x/0.png"),
        ("RecordFailureFunction", "s3:PutObject", f"{OUT}/failed/x.json"),
        ("PosterStateMachine", "lambda:InvokeFunction", f"{FUNCTION}poster-local-PollFunction"),
        ("PosterStateMachine", "lambda:InvokeFunction", f"{FUNCTION}poster-local-SlotsFunction"),
    ],
)
def test_functions_can_do_what_they_need(
    policies: dict[str, list[dict[str, Any]]], function: str, action: str, resource: str
) -> None:
    assert policy_allows(policies[function], action, resource)


def _either_branch(statements: list[Any]) -> list[dict[str, Any]]:
    """The statements, a conditional one (``!If [Cond, statement, !Ref AWS::NoValue]``) by each of its branches."""
    found: list[dict[str, Any]] = []
    for statement in statements:
        branches = statement["Fn::If"][1:] if "Fn::If" in statement else [statement]
        found += [branch for branch in branches if "Action" in branch]
    return found


def test_no_data_action_is_granted_on_every_resource() -> None:
    # GIVEN every statement of every role in the translated template
    wildcard = []
    for logical_id, resource in translated_template()["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in _either_branch(policy["PolicyDocument"]["Statement"]):
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                data = [a for a in actions if a.split(":")[0] in {"s3", "dynamodb", "secretsmanager", "sqs", "states"}]
                if statement.get("Resource") == "*" and data:
                    wildcard.append((logical_id, data))
    # THEN no data action (S3, DynamoDB, Secrets Manager, SQS, Step Functions) has "Resource": "*"
    assert wildcard == []
