"""``LocalStack(enforce_iam=True)``: each handler signs with its own role, moto enforces, and stop undoes it all.

A two-function template (``Writer`` may put under ``allowed/``; ``Reader`` may only read, through the SAM
policy template ``S3ReadPolicy``) with handlers defined here; they are invoked through moto's Lambda API
with the stack's admin client, as a state machine Task would. Then the pieces on their own: the
resources and IAM actions given to moto's evaluator, and the presigned-URL signatures.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from local_stack.iam.enforcement import QuerySignature, iam_authorisations
from local_stack.stack import LocalStack

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.integration

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Environment:
      Variables:
        BUCKET: !Ref Bucket
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  Writer:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: writer/
      Handler: app.handler
      Policies:
        - Statement:
            - Effect: Allow
              Action: s3:PutObject
              Resource: !Sub "${Bucket.Arn}/allowed/*"
  Reader:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: reader/
      Handler: app.handler
      Policies:
        - S3ReadPolicy:
            BucketName: !Ref Bucket
"""

SHARED: dict[str, Any] = {}  # one client for both handlers, as poster_common.aws.client caches one per service


def s3_client() -> Any:
    if "s3" not in SHARED:
        SHARED["s3"] = boto3.session.Session().client("s3")  # credentials from the environment, like a handler's
    return SHARED["s3"]


def attempt(call: Any) -> str:
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return "ok"


def writer(event: Any, context: Any) -> dict[str, str]:
    s3, bucket = s3_client(), os.environ["BUCKET"]
    with ThreadPoolExecutor(1) as pool:  # as S3 transfers do: the worker thread must sign as Writer too
        in_thread = pool.submit(attempt, lambda: s3.put_object(Bucket=bucket, Key="allowed/thread.txt", Body=b"t"))
        thread_result = in_thread.result()
    return {
        "put allowed/": attempt(lambda: s3.put_object(Bucket=bucket, Key="allowed/a.txt", Body=b"a")),
        "put other/": attempt(lambda: s3.put_object(Bucket=bucket, Key="other/a.txt", Body=b"a")),
        "put allowed/ from a thread": thread_result,
        "get allowed/a.txt": attempt(lambda: s3.get_object(Bucket=bucket, Key="allowed/a.txt")),
    }


def reader(event: Any, context: Any) -> dict[str, str]:
    s3, bucket = s3_client(), os.environ["BUCKET"]
    return {
        "get allowed/a.txt": attempt(lambda: s3.get_object(Bucket=bucket, Key="allowed/a.txt")),
        "put allowed/": attempt(lambda: s3.put_object(Bucket=bucket, Key="allowed/b.txt", Body=b"b")),
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    folder: Path = tmp_path_factory.mktemp("iam")
    template = folder / "template.yaml"
    template.write_text(TEMPLATE)
    SHARED.clear()
    local = LocalStack(
        template, stack_name="ls-iam", composer=False, handlers={"Writer": writer, "Reader": reader}, enforce_iam=True
    )
    with local:
        yield local
    SHARED.clear()


def invoke(stack: LocalStack, logical_id: str) -> dict[str, str]:
    assert stack.template is not None
    name = stack.template.function(logical_id).name
    response = stack.client("lambda").invoke(FunctionName=name, Payload=b"{}")
    assert "FunctionError" not in response, response["Payload"].read()
    result: dict[str, str] = __import__("json").loads(response["Payload"].read())
    return result


def test_each_handler_signs_with_its_own_role_even_through_a_shared_client(stack: LocalStack) -> None:
    # GIVEN Writer (PutObject on allowed/*) and Reader (S3ReadPolicy), sharing one client made from the environment
    # WHEN each is invoked and tries what it may and may not do
    written = invoke(stack, "Writer")
    read = invoke(stack, "Reader")
    # THEN moto answers each call by the policy of the function that made it, in worker threads too
    assert written == {
        "put allowed/": "ok",
        "put other/": "AccessDenied",
        "put allowed/ from a thread": "ok",
        "get allowed/a.txt": "AccessDenied",
    }
    assert read == {"get allowed/a.txt": "ok", "put allowed/": "AccessDenied"}


def test_roles_carry_exactly_the_expanded_policies(stack: LocalStack) -> None:
    # GIVEN the roles the stack created
    assert stack.iam is not None
    iam = stack.client("iam")
    writer_role = stack.iam.role_arns["Writer"].rsplit("/", 1)[-1]
    reader_role = stack.iam.role_arns["Reader"].rsplit("/", 1)[-1]
    # THEN each has SAM's inline policies (S3ReadPolicy expanded) plus its managed policy, nothing else
    assert writer_role == "ls-iam-WriterRole"
    assert sorted(iam.list_role_policies(RoleName=writer_role)["PolicyNames"]) == [
        "AWSLambdaBasicExecutionRole",
        "WriterRolePolicy0",
    ]
    expanded = iam.get_role_policy(RoleName=reader_role, PolicyName="ReaderRolePolicy0")["PolicyDocument"]
    actions = {action for statement in expanded["Statement"] for action in statement["Action"]}
    assert "s3:GetObject" in actions and not any(a.startswith("s3:Put") for a in actions)


def test_the_harness_outside_any_handler_uses_the_admin_and_the_environment_is_refused(stack: LocalStack) -> None:
    # GIVEN the stack's admin client and a client from the process environment (dummy keys), outside any handler
    admin = stack.client("s3")
    environment = boto3.session.Session().client("s3")
    # WHEN both list the bucket
    admin.list_objects_v2(Bucket=os.environ["BUCKET"])
    code = attempt(lambda: environment.list_objects_v2(Bucket=os.environ["BUCKET"]))
    # THEN only the admin is served
    assert code == "InvalidAccessKeyId"


def test_presigned_urls_are_served_to_their_signers_readers_only(stack: LocalStack) -> None:
    # GIVEN an object whose key has a space, a plus and a non-ASCII letter, and URLs for it presigned (SigV2, as
    # botocore does by default, and SigV4) by Reader, which may read it, and by Writer, which may not
    assert stack.iam is not None
    key = "allowed/a b+ü.txt"
    stack.client("s3").put_object(Bucket=os.environ["BUCKET"], Key=key, Body=b"content")

    def presigned(role: str, version: str) -> str:
        assert stack.iam is not None
        config = Config(signature_version=version, s3={"addressing_style": "path"})
        s3 = stack.iam.external_sessions[role].session().client("s3", endpoint_url=stack.moto_endpoint, config=config)
        return str(s3.generate_presigned_url("get_object", Params={"Bucket": os.environ["BUCKET"], "Key": key}))

    # WHEN each is fetched with plain HTTP
    answers = {
        (role, version): requests.get(presigned(role, version), timeout=(3.05, 30))
        for role in ("Reader", "Writer")
        for version in ("s3", "s3v4")
    }
    # THEN Reader's are served the object, Writer's are refused
    assert {k: (a.status_code, a.content if a.ok else b"") for k, a in answers.items()} == {
        ("Reader", "s3"): (200, b"content"),
        ("Reader", "s3v4"): (200, b"content"),
        ("Writer", "s3"): (403, b""),
        ("Writer", "s3v4"): (403, b""),
    }


# ---------------------------------------------------------------- the pieces


@pytest.mark.parametrize(
    ("action", "resource", "path", "body", "expected"),
    [
        ("s3:GetObject", "arn:aws:s3:::b/k", "/b/k", None, [("s3:GetObject", "arn:aws:s3:::b/k")]),
        (
            "dynamodb:Query",
            "*",
            "/",
            '{"TableName": "t", "IndexName": "i"}',
            [("dynamodb:Query", "arn:aws:dynamodb:us-east-1:111122223333:table/t/index/i")],
        ),
        (
            "dynamodb:TransactWriteItems",
            "*",
            "/",
            '{"TransactItems": [{"Put": {"TableName": "a"}}, {"ConditionCheck": {"TableName": "b"}}]}',
            [
                ("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:111122223333:table/a"),
                ("dynamodb:ConditionCheckItem", "arn:aws:dynamodb:us-east-1:111122223333:table/b"),
            ],
        ),
        (
            "secretsmanager:GetSecretValue",
            "*",
            "/",
            '{"SecretId": "app/key"}',
            [("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/key")],
        ),
        (
            "states:StartExecution",
            "*",
            "/",
            '{"stateMachineArn": "arn:aws:states:us-east-1:111122223333:stateMachine:m", "name": "x"}',
            [("states:StartExecution", "arn:aws:states:us-east-1:111122223333:stateMachine:m")],
        ),
        (
            "events:PutEvents",
            "*",
            "/",
            '{"Entries": [{"Source": "s"}, {"Source": "s", "EventBusName": "other"}]}',
            [
                ("events:PutEvents", "arn:aws:events:us-east-1:111122223333:event-bus/default"),
                ("events:PutEvents", "arn:aws:events:us-east-1:111122223333:event-bus/other"),
            ],
        ),
        (
            "lambda:Invoke",
            "*",
            "/2015-03-31/functions/poll/invocations?Qualifier=live",
            "{}",
            [("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:111122223333:function:poll:live")],
        ),
        (
            "sqs:DeleteMessageBatch",
            "arn:aws:sqs:us-east-1:111122223333:q",
            "/",
            None,
            [("sqs:DeleteMessage", "arn:aws:sqs:us-east-1:111122223333:q")],
        ),
    ],
)
def test_requests_are_authorised_as_the_iam_action_on_their_resource(
    action: str, resource: str, path: str, body: str | None, expected: list[tuple[str, str]]
) -> None:
    # GIVEN a request as moto names it WHEN its authorisations are derived THEN they are AWS's action and resource
    found = iam_authorisations(action, resource, region="us-east-1", account="111122223333", path=path, body=body)
    assert found == expected


@pytest.mark.parametrize("version", ["s3", "s3v4"])
def test_presigned_signatures_are_checked_against_the_signers_secret(version: str) -> None:
    # GIVEN a URL presigned with a session's credentials (SigV2 is botocore's default for get_object)
    s3 = boto3.session.Session().client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://localhost:9",
        aws_access_key_id="ASIAEXAMPLE",
        aws_secret_access_key="secret",
        aws_session_token="token",
        config=Config(signature_version=version, s3={"addressing_style": "path"}),
    )
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "bkt", "Key": "a b/ü+c.jpg"}, ExpiresIn=60)
    path, host = url.removeprefix("http://localhost:9"), {"Host": "localhost:9"}
    signature = QuerySignature.parse(path)
    assert signature is not None
    # THEN the signer's credentials reproduce it; another secret, another key or another path do not
    assert (signature.access_key, signature.token) == ("ASIAEXAMPLE", "token")
    assert signature.matches(Credentials("ASIAEXAMPLE", "secret", "token"), "GET", path, host)
    assert not signature.matches(Credentials("ASIAEXAMPLE", "other", "token"), "GET", path, host)
    assert not signature.matches(Credentials("ASIAEXAMPLE", "secret", "token"), "GET", path.replace("bkt", "bkx"), host)
    assert QuerySignature.parse("/bkt/a.jpg") is None
