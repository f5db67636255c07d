"""Least privilege, enforced by moto: real calls under each role's own credentials against the running stack.

The shared stack runs with ``enforce_iam=True``: every function and the state machine have an IAM role
with exactly their expanded policies, and moto refuses what a policy does not allow
(``local_stack/iam/roles.py``, ``local_stack/iam/enforcement.py``). Each call here signs with a session of
one role (``LocalStack.role_client``: a session of the role other than the one its handler runs with).
What each may not do is read off template.yaml's ``Policies``; for services other than S3 and SQS moto
checks only the action unless ``local_stack.iam.enforcement`` names the resource, which it does for
DynamoDB, Secrets Manager, Step Functions, EventBridge and Lambda, so refusals on a resource the
function's action is granted elsewhere (another table, bus, state machine, secret) are real too.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from collections.abc import Callable

    from local_stack.stack import LocalStack

pytestmark = pytest.mark.e2e

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@dataclass(frozen=True)
class Names:
    """The physical names the calls below need, read from the running stack."""

    input_bucket: str
    output_bucket: str
    secret: str
    slot_table: str
    idempotency_table: str
    state_machine: str
    upload_queue: str
    poll_function: str
    submit_role: str


@pytest.fixture(scope="module")
def names(stack: LocalStack) -> Names:
    assert stack.iam is not None and stack.template is not None
    tables = stack.resources.tables
    return Names(
        input_bucket=stack.input_bucket,
        output_bucket=stack.output_bucket,
        secret=next(iter(stack.resources.secret_arns.values())),
        slot_table=tables["SlotTable"],
        idempotency_table=tables["IdempotencyTable"],
        state_machine=stack.state_machine_arn,
        upload_queue=stack.queue_url,
        poll_function=stack.template.function("PollFunction").name,
        submit_role=stack.iam.role_arns["SubmitFunction"].rsplit("/", 1)[-1],
    )


def error_code(error: ClientError) -> str:
    """The AWS error code (moto answers JSON-protocol services with an XML error body: read its ``<Code>``)."""
    code = str(error.response.get("Error", {}).get("Code", ""))
    found = re.search(r"<Code>(\w+)</Code>", str(error.response.get("Error", {}).get("Message", "")))
    return found.group(1) if code.isdigit() and found else code


def refused(call: Callable[[], Any]) -> str:
    """Make the call; return the error code it was refused with (fails if it succeeded)."""
    with pytest.raises(ClientError) as raised:
        call()
    return error_code(raised.value)


POSTER = "posters/iam-probe/0.png"
UPLOAD = "incoming/iam-probe.jpg"


def put(bucket: str, key: str) -> Callable[[Any, Names], Any]:
    """``PutObject`` into ``Names.<bucket>``."""
    return lambda c, n: c.put_object(Bucket=getattr(n, bucket), Key=key, Body=PNG)


def get(bucket: str, key: str) -> Callable[[Any, Names], Any]:
    return lambda c, n: c.get_object(Bucket=getattr(n, bucket), Key=key)


def delete(bucket: str, key: str) -> Callable[[Any, Names], Any]:
    return lambda c, n: c.delete_object(Bucket=getattr(n, bucket), Key=key)


def query_slots(c: Any, n: Names) -> Any:
    return c.query(
        TableName=n.slot_table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "slot"}}
    )


def start_execution(machine_suffix: str = "") -> Callable[[Any, Names], Any]:
    name = f"iam-probe-{uuid.uuid4().hex}"
    return lambda c, n: c.start_execution(stateMachineArn=n.state_machine + machine_suffix, name=name, input="{}")


def put_event(bus: str = "default") -> Callable[[Any, Names], Any]:
    entry = {"Source": "poster-pipeline", "DetailType": "iam probe", "Detail": "{}", "EventBusName": bus}
    return lambda c, n: c.put_events(Entries=[entry])


SLOT = {"pk": {"S": "slot"}, "sk": {"S": "0"}}
EVERYTHING = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})

# (role, service, what it may not do, the call) — read off template.yaml's Policies.
NOT_GRANTED: list[tuple[str, str, str, Callable[[Any, Names], Any]]] = [
    # S3 (moto checks bucket and key itself)
    ("SubmitFunction", "s3", "write posters/", put("output_bucket", POSTER)),
    ("SubmitFunction", "s3", "write the input bucket", put("input_bucket", UPLOAD)),
    ("SubmitFunction", "s3", "delete an upload", delete("input_bucket", UPLOAD)),
    ("SubmitFunction", "s3", "read posters/", get("output_bucket", POSTER)),
    ("SlotsFunction", "s3", "write normalised/ (it only reads it)", put("output_bucket", "normalised/x.jpg")),
    ("SlotsFunction", "s3", "write posters/", put("output_bucket", POSTER)),
    ("PollFunction", "s3", "read an upload", get("input_bucket", UPLOAD)),
    ("PollFunction", "s3", "write posters/", put("output_bucket", POSTER)),
    ("PollFunction", "s3", "list the input bucket", lambda c, n: c.list_objects_v2(Bucket=n.input_bucket)),
    ("FinalizeFunction", "s3", "read the input prefix", get("input_bucket", UPLOAD)),
    ("FinalizeFunction", "s3", "write failed/", put("output_bucket", "failed/x.json")),
    ("FinalizeFunction", "s3", "write the input bucket", put("input_bucket", UPLOAD)),
    ("FinalizeFunction", "s3", "delete a poster", delete("output_bucket", POSTER)),
    ("FinalizeFunction", "s3", "read posters/ (it only writes them)", get("output_bucket", POSTER)),
    ("RecordFailureFunction", "s3", "write posters/", put("output_bucket", POSTER)),
    ("RecordFailureFunction", "s3", "write normalised/", put("output_bucket", "normalised/x.jpg")),
    ("RecordFailureFunction", "s3", "read an upload", get("input_bucket", UPLOAD)),
    ("PosterStateMachine", "s3", "read an upload", get("input_bucket", UPLOAD)),
    # Secrets Manager
    ("RecordFailureFunction", "secretsmanager", "read the API key", lambda c, n: c.get_secret_value(SecretId=n.secret)),
    ("PosterStateMachine", "secretsmanager", "read the API key", lambda c, n: c.get_secret_value(SecretId=n.secret)),
    ("SubmitFunction", "secretsmanager", "change the API key",
     lambda c, n: c.put_secret_value(SecretId=n.secret, SecretString="sk-x")),
    ("FinalizeFunction", "secretsmanager", "read another secret",
     lambda c, n: c.get_secret_value(SecretId="poster-pipeline/other")),
    # DynamoDB
    ("SubmitFunction", "dynamodb", "scan the slot table", lambda c, n: c.scan(TableName=n.slot_table)),
    ("SubmitFunction", "dynamodb", "GetItem on the slot table (granted on the idempotency table)",
     lambda c, n: c.get_item(TableName=n.slot_table, Key=SLOT)),
    ("SlotsFunction", "dynamodb", "write the idempotency table",
     lambda c, n: c.put_item(TableName=n.idempotency_table, Item={"id": {"S": "iam-probe"}})),
    ("PollFunction", "dynamodb", "read the slot table", query_slots),
    ("FinalizeFunction", "dynamodb", "read the slot table", query_slots),
    ("RecordFailureFunction", "dynamodb", "delete a lease",
     lambda c, n: c.delete_item(TableName=n.slot_table, Key=SLOT)),
    # Step Functions
    ("PollFunction", "stepfunctions", "start an execution", start_execution()),
    ("FinalizeFunction", "stepfunctions", "start an execution", start_execution()),
    ("RecordFailureFunction", "stepfunctions", "start an execution", start_execution()),
    ("SubmitFunction", "stepfunctions", "start another state machine", start_execution("-other")),
    ("SubmitFunction", "stepfunctions", "stop an execution",
     lambda c, n: c.stop_execution(executionArn=n.state_machine.replace(":stateMachine:", ":execution:") + ":x")),
    # EventBridge
    ("PollFunction", "events", "put events", put_event()),
    ("FinalizeFunction", "events", "put events on another bus", put_event("other")),
    # SQS (moto checks the queue itself)
    ("SubmitFunction", "sqs", "send to the upload queue (its role only receives)",
     lambda c, n: c.send_message(QueueUrl=n.upload_queue, MessageBody="{}")),
    ("FinalizeFunction", "sqs", "receive from the upload queue",
     lambda c, n: c.receive_message(QueueUrl=n.upload_queue, WaitTimeSeconds=0)),
    # Lambda
    ("SubmitFunction", "lambda", "invoke a function",
     lambda c, n: c.invoke(FunctionName=n.poll_function, Payload=b"{}")),
    ("PosterStateMachine", "lambda", "invoke a function it does not name",
     lambda c, n: c.invoke(FunctionName="poster-local-other", Payload=b"{}")),
    # IAM
    ("SubmitFunction", "iam", "widen its own role",
     lambda c, n: c.put_role_policy(RoleName=n.submit_role, PolicyName="more", PolicyDocument=EVERYTHING)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("role", "service", "call"),
    [pytest.param(role, service, call, id=f"{role}: {what}") for role, service, what, call in NOT_GRANTED],
)
def test_each_role_is_refused_what_its_policy_does_not_grant(
    stack: LocalStack, names: Names, role: str, service: str, call: Callable[[Any, Names], Any]
) -> None:
    # GIVEN a client signing with a session of exactly one role
    client = stack.role_client(role, service)
    # WHEN it makes a call the role's expanded policies do not allow
    code = refused(lambda: call(client, names))
    # THEN moto refuses it as AWS would
    assert code == "AccessDenied"


def logo(c: Any, n: Names, probe: str) -> Any:
    return c.get_object(Bucket=n.input_bucket, Key=probe)["Body"].read()


GRANTED: list[tuple[str, str, str, Callable[[Any, Names, str], Any]]] = [
    ("SubmitFunction", "s3", "read the input bucket", logo),
    ("SubmitFunction", "s3", "write normalised/",
     lambda c, n, probe: c.put_object(Bucket=n.output_bucket, Key=f"normalised/{probe.rsplit('/')[-1]}", Body=PNG)),
    ("SubmitFunction", "secretsmanager", "read the API key", lambda c, n, probe: c.get_secret_value(SecretId=n.secret)),
    ("SubmitFunction", "dynamodb", "read the idempotency table",
     lambda c, n, probe: c.get_item(TableName=n.idempotency_table, Key={"id": {"S": probe}})),
    ("SubmitFunction", "sqs", "read the upload queue's attributes",
     lambda c, n, probe: c.get_queue_attributes(QueueUrl=n.upload_queue)),
    ("SlotsFunction", "dynamodb", "query the slot table", lambda c, n, probe: query_slots(c, n)),
    ("SlotsFunction", "s3", "read the input bucket", logo),
    ("PollFunction", "secretsmanager", "read the API key", lambda c, n, probe: c.get_secret_value(SecretId=n.secret)),
    ("FinalizeFunction", "s3", "write posters/",
     lambda c, n, probe: c.put_object(Bucket=n.output_bucket, Key=f"posters/{probe}/0.png", Body=PNG)),
    ("FinalizeFunction", "events", "put events on the default bus",
     lambda c, n, probe: c.put_events(Entries=[{"Source": "iam-probe", "DetailType": "probe", "Detail": "{}"}])),
    ("RecordFailureFunction", "s3", "write failed/",
     lambda c, n, probe: c.put_object(Bucket=n.output_bucket, Key=f"failed/{probe}.json", Body=b"{}")),
]  # fmt: skip


@pytest.fixture(scope="module")
def probe(stack: LocalStack) -> str:
    """An object in the input bucket outside the input prefix (so it starts no job), as a logo would be."""
    key = f"iam-probe/{uuid.uuid4().hex}.png"
    stack.client("s3").put_object(Bucket=stack.input_bucket, Key=key, Body=PNG, ContentType="image/png")
    return key


@pytest.mark.parametrize(
    ("role", "service", "call"),
    [pytest.param(role, service, call, id=f"{role}: {what}") for role, service, what, call in GRANTED],
)
def test_the_same_clients_may_do_what_the_policies_grant(
    stack: LocalStack, names: Names, probe: str, role: str, service: str, call: Callable[[Any, Names, str], Any]
) -> None:
    # GIVEN the same kind of client as above (so a refusal there is the policy's, not a broken signature)
    client = stack.role_client(role, service)
    # WHEN it makes a call its policies allow THEN moto serves it
    call(client, names, probe)


# ---------------------------------------------------------------- enforcement is really on


def client_with(stack: LocalStack, service: str, key: str, secret: str, token: str | None = None) -> Any:
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service,
        endpoint_url=stack.moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
    )


def test_a_known_principal_without_the_permission_is_refused(stack: LocalStack) -> None:
    # GIVEN an IAM user with an access key and no policy at all
    iam = stack.client("iam")
    user = f"iam-probe-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    nobody = {"key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    # WHEN it lists the output bucket and reads the upload queue's attributes
    s3_code = refused(lambda: client_with(stack, "s3", **nobody).list_objects_v2(Bucket=stack.output_bucket))
    sqs_code = refused(lambda: client_with(stack, "sqs", **nobody).get_queue_attributes(QueueUrl=stack.queue_url))
    # THEN both are refused, while the stack's admin is served the same calls
    assert (s3_code, sqs_code) == ("AccessDenied", "AccessDenied")
    stack.client("s3").list_objects_v2(Bucket=stack.output_bucket)
    stack.client("sqs").get_queue_attributes(QueueUrl=stack.queue_url)


def test_unknown_or_forged_credentials_are_refused(stack: LocalStack) -> None:
    assert stack.iam is not None and stack.iam.admin is not None
    admin, finalize = stack.iam.admin, stack.iam.external_sessions["FinalizeFunction"]
    cases = {
        # the dummy credentials every process environment holds (what a handler would sign with outside its role)
        "environment's dummy key": ("testing", "testing", None),
        "unknown key": ("AKIAUNKNOWNUNKNOWN00", "secret", None),
        "admin key, wrong secret": (admin.access_key, "not-the-secret", None),
        "role session, wrong token": (finalize.access_key, finalize.secret_key, "forged-token"),
        "role session, no token": (finalize.access_key, finalize.secret_key, None),
    }
    codes = {}
    for name, (key, secret, token) in cases.items():
        # WHEN each signs a read of the output bucket
        s3 = client_with(stack, "s3", key, secret, token)
        codes[name] = refused(partial(s3.list_objects_v2, Bucket=stack.output_bucket))
    # THEN moto refuses every one before looking at any policy
    assert codes == {
        "environment's dummy key": "InvalidAccessKeyId",
        "unknown key": "InvalidAccessKeyId",
        "admin key, wrong secret": "SignatureDoesNotMatch",
        "role session, wrong token": "InvalidToken",
        "role session, no token": "InvalidAccessKeyId",
    }


def test_presigned_urls_are_authorised_as_their_signer(stack: LocalStack, probe: str) -> None:
    # GIVEN URLs presigned (SigV2, as the handlers' clients do, and SigV4) by Submit, which may read the input
    # bucket, and by Finalize, which may not; a tampered one; and one with no signature at all
    from botocore.config import Config

    def presigned(role: str, version: str) -> str:
        assert stack.iam is not None
        session = stack.iam.external_sessions[role].session()
        config = Config(signature_version=version, s3={"addressing_style": "path"})
        s3 = session.client("s3", endpoint_url=stack.moto_endpoint, config=config)
        return str(s3.generate_presigned_url("get_object", Params={"Bucket": stack.input_bucket, "Key": probe}))

    urls = {
        "Submit, SigV2": presigned("SubmitFunction", "s3"),
        "Submit, SigV4": presigned("SubmitFunction", "s3v4"),
        "Finalize, SigV2": presigned("FinalizeFunction", "s3"),
        "Finalize, SigV4": presigned("FinalizeFunction", "s3v4"),
        "Submit, SigV2, other key": presigned("SubmitFunction", "s3").replace(probe, probe + ".x"),
        "unsigned": f"{stack.moto_endpoint}/{stack.input_bucket}/{probe}",
    }
    # WHEN each is fetched as the composer fetches a background (plain HTTP, no AWS client)
    statuses = {name: requests.get(url, timeout=(3.05, 30)).status_code for name, url in urls.items()}
    # THEN only Submit's untampered URLs are served
    assert statuses == {
        "Submit, SigV2": 200,
        "Submit, SigV4": 200,
        "Finalize, SigV2": 403,
        "Finalize, SigV4": 403,
        "Submit, SigV2, other key": 403,
        "unsigned": 403,
    }
