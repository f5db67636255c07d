"""The composer service's secrets and privileges, end to end on the package's stack (IAM enforced by moto).

1. The generated API key (and every credential the stack handed out) never appears in the logs, the
   executions' histories, any S3 object of the three buckets, any table item, the events or any queue.
2. Least privilege: every call the composer's functions made during the package was authorised by moto
   under their own role, and calls their policies do not grant are refused (and the pipeline's roles
   cannot reach the service's table or result bucket directly).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.e2e.composer_service.conftest import LOGO_KEY, composer_names
from tests.e2e.conftest import SESSION_TOKEN
from tests.hostile import CANARY

if TYPE_CHECKING:
    from collections.abc import Callable

    from local_stack.stack import LocalStack
    from tests.e2e.capture import LogCapture
    from tests.e2e.composer_service.conftest import Posters

pytestmark = pytest.mark.e2e

API = "ComposerApiFunction"
WORKER = "ComposerWorkerFunction"


# ---------------------------------------------------------------- 1. no secret leaks


def artifacts(stack: LocalStack, logs: LogCapture) -> dict[str, str]:
    """Every place a leak could land: logs, execution histories, objects, table items, events and queues."""
    names = composer_names(stack)
    found = {"logs": logs.text()}
    sfn = stack.client("stepfunctions")
    for execution in stack.executions():
        detail = sfn.describe_execution(executionArn=execution.arn)
        found[f"execution {execution.name}"] = json.dumps([detail, stack.history(execution.arn)], default=str)
    s3 = stack.client("s3")
    for bucket in (stack.input_bucket, stack.output_bucket, names["result_bucket"]):
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for version in page.get("Versions", []):
                if version["Size"] > 8 * 1024 * 1024:  # the 51 MB padded upload of test_failures.py: zeros
                    continue
                obj = s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
                found[f"s3://{bucket}/{version['Key']}"] = obj["Body"].read().decode("latin-1") + json.dumps(
                    obj.get("Metadata", {})
                )
    dynamodb = stack.client("dynamodb")
    for table in dynamodb.list_tables()["TableNames"]:
        found[f"table {table}"] = json.dumps(dynamodb.scan(TableName=table)["Items"], default=str)
    found["events"] = json.dumps(stack.events(wait_seconds=0))
    sqs = stack.client("sqs")
    for name, url in {
        "upload DLQ": stack.dlq_url,
        **{k: v for k, v in names.items() if k.startswith("render")},
    }.items():
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
        found[f"queue {name}"] = json.dumps(messages)
    return found


def test_the_api_key_and_credentials_never_appear_in_any_artifact(
    stack: LocalStack, posters: Posters, captured_logs: LogCapture
) -> None:
    # GIVEN the generated API key, the session-token canary in the handlers' environment, the canary signature
    # of the hostile URLs, and every secret key handed out (admin, each role's handler/event-source sessions)
    assert stack.iam is not None
    secrets = {"api key": stack.api_key, "environment session token": SESSION_TOKEN, "canary signature": CANARY}
    secrets |= {label: value for label, value in stack.iam.credentials_in_use().items() if "secret key" in label}
    # (role session tokens are not secret on their own, and a presigned URL carries its signer's by design:
    # they are reported below, not failed on)
    tokens = {label: value for label, value in stack.iam.credentials_in_use().items() if "session token" in label}
    # WHEN every artifact of the package's stack is scanned, raw and URL-encoded
    scanned = artifacts(stack, captured_logs)
    assert any(where.startswith("table ") and "composer" in where.lower() for where in scanned)
    leaks = [
        (secret, where)
        for secret, value in secrets.items()
        for where, text in scanned.items()
        if value in text or quote(value, safe="") in text
    ]
    carried = sorted(
        {(label.split(" ")[0], where.split(" ")[0] + " " + _short(where)) for label, value in tokens.items()
         for where, text in scanned.items() if value in text or quote(value, safe="") in text}
    )  # fmt: skip
    # ... and the signatures of the presigned URLs the service was handed appear only in its own task table
    signatures = presigned_signatures(stack)
    assert signatures, "no task carried a presigned URL"
    spread = sorted(
        {
            where
            for value in signatures
            for where, text in scanned.items()
            if value in text or quote(value, safe="") in text
        }
    )
    print(f"\nleak scan: {len(secrets)} secret values x {len(scanned)} artifacts; leaks: {len(leaks)}")
    print(f"role session tokens found (inside presigned URLs): {carried}")
    # THEN none is found anywhere
    assert leaks == []
    assert stack.api_key.startswith("sk-") and len(scanned) > 15
    assert spread == [f"table {composer_names(stack)['task_table']}"]


def presigned_signatures(stack: LocalStack) -> set[str]:
    """``X-Amz-Signature`` of every background and logo URL stored with a task."""
    items = stack.client("dynamodb").scan(TableName=composer_names(stack)["task_table"])["Items"]
    found = set()
    for item in items:
        request = json.loads(item["request"]["S"])
        for url in (request["image_url"], request.get("logo")):
            for name, value in parse_qsl(urlsplit(url or "").query):
                if name.lower() == "x-amz-signature":
                    found.add(value)
    return found


def _short(where: str) -> str:
    return re.sub(r"[0-9a-f]{8,}", "…", where.split(" ", 1)[-1])[:60]


# ---------------------------------------------------------------- 2. least privilege


def test_moto_authorised_every_call_of_the_composers_functions_under_their_own_roles(
    stack: LocalStack, posters: Posters
) -> None:
    # GIVEN every authorisation moto made while this package's stack ran (enforcement on from the start)
    assert stack.iam is not None and stack.iam_enforcement is not None
    runs = {session.arn: owner for owner, session in stack.iam.handler_sessions.items()}
    runs |= {session.arn: f"{owner} (event source)" for owner, session in stack.iam.event_source_sessions.items()}
    decisions = [d for d in stack.iam_enforcement.snapshot() if d.principal in runs]
    enforced = Counter((runs[d.principal], d.action + (" (presigned)" if d.presigned else "")) for d in decisions)
    refused = [(runs[d.principal], d.action, d.resource) for d in decisions if not d.allowed]
    for (role, action), count in sorted(enforced.items()):
        if role.startswith("Composer"):
            print(f"  {role:42} {action:40} {count}")
    # THEN the service's functions made the calls they need, each under its own role ...
    assert enforced[API, "secretsmanager:GetSecretValue"] > 0
    assert enforced[API, "dynamodb:PutItem"] > 0 and enforced[API, "dynamodb:GetItem"] > 0
    assert enforced[API, "sqs:SendMessage"] > 0
    assert enforced[API, "s3:GetObject (presigned)"] > 0  # Finalize's copies of the result URLs it presigned
    assert enforced[WORKER, "dynamodb:UpdateItem"] > 0 and enforced[WORKER, "dynamodb:GetItem"] > 0
    assert enforced[WORKER, "s3:PutObject"] > 0
    assert any(role == f"{WORKER} (event source)" for role, _ in enforced)
    # the worker fetched each background through a URL Submit presigned (on the object version it checked)
    assert enforced["SubmitFunction", "s3:GetObjectVersion (presigned)"] > 0
    # ... and moto refused none of any handler's calls
    assert refused == []


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
SLOT = {"pk": {"S": "slot"}, "sk": {"S": "0"}}
TASK = {"task_id": {"S": "iam-probe"}}


def _names(stack: LocalStack) -> dict[str, str]:
    names = composer_names(stack)
    names["secret"] = next(iter(stack.resources.secret_arns.values()))
    names["input_bucket"], names["output_bucket"] = stack.input_bucket, stack.output_bucket
    names["state_machine"] = stack.state_machine_arn
    return names


# (role, service, what it may not do, the call) — read off template.yaml's Policies.
NOT_GRANTED: list[tuple[str, str, str, Callable[[Any, dict[str, str]], Any]]] = [
    # the worker: reads backgrounds only through presigned URLs, writes results only
    (WORKER, "s3", "read the input bucket directly", lambda c, n: c.get_object(Bucket=n["input_bucket"], Key=LOGO_KEY)),
    (WORKER, "s3", "list the input bucket", lambda c, n: c.list_objects_v2(Bucket=n["input_bucket"])),
    (WORKER, "s3", "write the output bucket",
     lambda c, n: c.put_object(Bucket=n["output_bucket"], Key="posters/iam/0.png", Body=PNG)),
    (WORKER, "s3", "read a result (it only writes them)",
     lambda c, n: c.get_object(Bucket=n["result_bucket"], Key="results/x/0.png")),
    (WORKER, "s3", "write outside results/",
     lambda c, n: c.put_object(Bucket=n["result_bucket"], Key="other/x.png", Body=PNG)),
    (WORKER, "s3", "delete a result", lambda c, n: c.delete_object(Bucket=n["result_bucket"], Key="results/x/0.png")),
    (WORKER, "secretsmanager", "read the API key", lambda c, n: c.get_secret_value(SecretId=n["secret"])),
    (WORKER, "dynamodb", "create a task (PutItem)",
     lambda c, n: c.put_item(TableName=n["task_table"], Item={**TASK, "status": {"S": "PENDING"}})),
    (WORKER, "dynamodb", "scan the task table", lambda c, n: c.scan(TableName=n["task_table"])),
    (WORKER, "dynamodb", "delete a task", lambda c, n: c.delete_item(TableName=n["task_table"], Key=TASK)),
    (WORKER, "dynamodb", "read the pipeline's SlotTable", lambda c, n: c.get_item(TableName=n["slot_table"], Key=SLOT)),
    (WORKER, "sqs", "queue a render", lambda c, n: c.send_message(QueueUrl=n["render_queue"], MessageBody="{}")),
    (WORKER, "stepfunctions", "start an execution",
     lambda c, n: c.start_execution(stateMachineArn=n["state_machine"], name="iam-probe", input="{}")),
    # the API: reads the key, writes tasks, queues them; never writes results or reads the pipeline's data
    (API, "s3", "write a result",
     lambda c, n: c.put_object(Bucket=n["result_bucket"], Key="results/x/0.png", Body=PNG)),
    (API, "s3", "read the input bucket", lambda c, n: c.get_object(Bucket=n["input_bucket"], Key=LOGO_KEY)),
    (API, "s3", "write the output bucket",
     lambda c, n: c.put_object(Bucket=n["output_bucket"], Key="posters/iam/0.png", Body=PNG)),
    (API, "s3", "list the result bucket", lambda c, n: c.list_objects_v2(Bucket=n["result_bucket"])),
    (API, "dynamodb", "read the pipeline's SlotTable", lambda c, n: c.get_item(TableName=n["slot_table"], Key=SLOT)),
    (API, "dynamodb", "scan the task table", lambda c, n: c.scan(TableName=n["task_table"])),
    (API, "dynamodb", "delete a task", lambda c, n: c.delete_item(TableName=n["task_table"], Key=TASK)),
    (API, "sqs", "receive from the render queue", lambda c, n: c.receive_message(QueueUrl=n["render_queue"])),
    (API, "sqs", "send to the render DLQ", lambda c, n: c.send_message(QueueUrl=n["render_dlq"], MessageBody="{}")),
    (API, "secretsmanager", "change the API key",
     lambda c, n: c.put_secret_value(SecretId=n["secret"], SecretString="sk-x")),
    (API, "secretsmanager", "read another secret", lambda c, n: c.get_secret_value(SecretId="poster-pipeline/other")),
    (API, "stepfunctions", "start an execution",
     lambda c, n: c.start_execution(stateMachineArn=n["state_machine"], name="iam-probe", input="{}")),
    # the pipeline's roles cannot reach the service's own data directly (only through its API and result URLs)
    ("SubmitFunction", "dynamodb", "read the task table", lambda c, n: c.get_item(TableName=n["task_table"], Key=TASK)),
    ("PollFunction", "dynamodb", "read the task table", lambda c, n: c.get_item(TableName=n["task_table"], Key=TASK)),
    ("FinalizeFunction", "s3", "read a result directly",
     lambda c, n: c.get_object(Bucket=n["result_bucket"], Key="results/x/0.png")),
    ("SubmitFunction", "sqs", "queue a render directly",
     lambda c, n: c.send_message(QueueUrl=n["render_queue"], MessageBody="{}")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("role", "service", "call"),
    [pytest.param(role, service, call, id=f"{role}: {what}") for role, service, what, call in NOT_GRANTED],
)
def test_each_role_is_refused_what_its_policy_does_not_grant(
    stack: LocalStack, role: str, service: str, call: Callable[[Any, dict[str, str]], Any]
) -> None:
    # GIVEN a client signing with a session of exactly one role
    client = stack.role_client(role, service)
    # WHEN it makes a call the role's expanded policies do not allow
    with pytest.raises(ClientError) as raised:
        call(client, _names(stack))
    # THEN moto refuses it as AWS would
    assert _code(raised.value) == "AccessDenied"


def test_the_roles_are_granted_what_the_service_needs(stack: LocalStack) -> None:
    # GIVEN the same role clients: the calls the service does make are allowed (the refusals above are not vacuous)
    names = _names(stack)
    assert stack.role_client(API, "secretsmanager").get_secret_value(SecretId=names["secret"])["SecretString"]
    assert "Item" not in stack.role_client(API, "dynamodb").get_item(TableName=names["task_table"], Key=TASK)
    assert "Item" not in stack.role_client(WORKER, "dynamodb").get_item(TableName=names["task_table"], Key=TASK)
    stack.role_client(WORKER, "s3").put_object(Bucket=names["result_bucket"], Key="results/iam-probe/0.png", Body=PNG)
    body = stack.role_client(API, "s3").get_object(Bucket=names["result_bucket"], Key="results/iam-probe/0.png")
    assert body["Body"].read() == PNG


def _code(error: ClientError) -> str:
    """The AWS error code (moto answers JSON-protocol services with an XML error body: read its ``<Code>``)."""
    code = str(error.response.get("Error", {}).get("Code", ""))
    found = re.search(r"<Code>(\w+)</Code>", str(error.response.get("Error", {}).get("Message", "")))
    return found.group(1) if code.isdigit() and found else code
