"""Record every AWS call each function makes on the local stack, and every URL Submit presigns.

Each handler (behind the Lambda seam and behind the SQS event-source emulation) is wrapped so that a
context variable names the function while it runs; ``BaseClient._make_api_call`` records
``(function, IAM action, resource ARN)`` for every call made in that context, including calls made
from worker threads (``ThreadPoolExecutor.submit`` copies the context, as S3 multipart uploads use
one). The calls are then checked against each function's expanded IAM policy
(`local_stack.iam.policies.policy_allows`).
"""

from __future__ import annotations

import contextvars
import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.client import BaseClient

from poster_common.storage import S3ObjectStore

if TYPE_CHECKING:
    from local_stack.stack import LocalStack

CURRENT_FUNCTION: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_function", default=None)
ACCOUNT = "123456789012"
REGION = "us-east-1"

_S3_ACTIONS = {
    "HeadObject": "s3:GetObject",
    "GetObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "DeleteObject": "s3:DeleteObject",
    "CopyObject": "s3:PutObject",
}


@dataclass(frozen=True)
class Call:
    function: str
    operation: str
    action: str
    resource: str


_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


def iam_requests(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """The IAM actions and resources an API call is authorised against (a transaction: each of its items)."""
    if service == "dynamodb" and operation in ("TransactWriteItems", "TransactGetItems"):
        found = []
        for item in params.get("TransactItems", []):
            for kind, body in item.items():
                action = _TRANSACT.get(kind, "GetItem")
                found.append((f"dynamodb:{action}", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{body['TableName']}"))
        return found
    if service == "dynamodb" and operation in ("BatchWriteItem", "BatchGetItem"):
        action = "dynamodb:BatchWriteItem" if operation == "BatchWriteItem" else "dynamodb:BatchGetItem"
        return [
            (action, f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}") for name in params.get("RequestItems", {})
        ]
    return [iam_request(service, operation, params)]


def iam_request(service: str, operation: str, params: dict[str, Any]) -> tuple[str, str]:
    """The IAM action and resource ARN an API call is authorised against."""
    if service == "s3":
        bucket, key = params.get("Bucket", ""), params.get("Key")
        if operation in ("ListObjectsV2", "ListObjects", "ListObjectVersions"):
            return "s3:ListBucket", f"arn:aws:s3:::{bucket}"
        action = _S3_ACTIONS.get(operation, f"s3:{operation}")
        if action == "s3:GetObject" and params.get("VersionId"):
            action = "s3:GetObjectVersion"
        return action, f"arn:aws:s3:::{bucket}/{key}" if key is not None else f"arn:aws:s3:::{bucket}"
    if service == "dynamodb":
        return f"dynamodb:{operation}", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{params.get('TableName', '*')}"
    if service == "secretsmanager":
        return f"secretsmanager:{operation}", str(params.get("SecretId", "*"))
    if service == "states":
        arn = params.get("stateMachineArn") or params.get("executionArn") or "*"
        return f"states:{operation}", str(arn)
    if service == "events":
        buses = {entry.get("EventBusName", "default") for entry in params.get("Entries", [])} or {"default"}
        bus = sorted(buses)[0]
        arn = bus if bus.startswith("arn:") else f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}"
        return f"events:{operation}", arn
    if service == "sqs":
        url = str(params.get("QueueUrl", ""))
        return f"sqs:{operation}", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{url.rsplit('/', 1)[-1]}"
    return f"{service}:{operation}", "*"


@dataclass
class CallRecorder:
    """Context manager over a running `LocalStack` (restores everything it patched on exit)."""

    stack: LocalStack
    calls: list[Call] = field(default_factory=list)
    presigned: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _undo: list[Any] = field(default_factory=list)

    def __enter__(self) -> CallRecorder:
        recorder = self
        original_call = getattr(BaseClient, "_make_api_call")  # noqa: B009
        original_submit = ThreadPoolExecutor.submit
        original_presign = S3ObjectStore.presign_get

        def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            function = CURRENT_FUNCTION.get()
            if function is not None:
                service = client.meta.service_model.signing_name
                with recorder._lock:
                    for action, resource in iam_requests(service, operation, params):
                        recorder.calls.append(Call(function, operation, action, resource))
            return original_call(client, operation, params)

        def submit(executor: ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            context = contextvars.copy_context()
            return original_submit(executor, context.run, fn, *args, **kwargs)

        def presign_get(store: S3ObjectStore, *args: Any, **kwargs: Any) -> str:
            url = original_presign(store, *args, **kwargs)
            with recorder._lock:
                recorder.presigned.append(url)
            return url

        setattr(BaseClient, "_make_api_call", make_api_call)  # noqa: B010 - patching on purpose
        setattr(ThreadPoolExecutor, "submit", submit)  # noqa: B010
        setattr(S3ObjectStore, "presign_get", presign_get)  # noqa: B010
        self._undo.append(lambda: setattr(BaseClient, "_make_api_call", original_call))
        self._undo.append(lambda: setattr(ThreadPoolExecutor, "submit", original_submit))
        self._undo.append(lambda: setattr(S3ObjectStore, "presign_get", original_presign))

        assert self.stack.template is not None
        for spec in self.stack.template.functions():
            target = self.stack.seam.target(spec.name)
            if target is not None:
                self.stack.seam.register(dataclasses.replace(target, handler=_named(spec.logical_id, target.handler)))
                self._undo.append(lambda t=target: self.stack.seam.register(t))
            for mapping in self.stack.event_sources:
                if mapping.target.name == spec.name:
                    original_target = mapping.target
                    mapping.target = dataclasses.replace(
                        original_target, handler=_named(spec.logical_id, original_target.handler)
                    )
                    self._undo.append(lambda m=mapping, t=original_target: setattr(m, "target", t))
        return self

    def __exit__(self, *exc_info: object) -> None:
        while self._undo:
            self._undo.pop()()

    def by_function(self) -> dict[str, set[tuple[str, str]]]:
        found: dict[str, set[tuple[str, str]]] = {}
        with self._lock:
            for call in self.calls:
                found.setdefault(call.function, set()).add((call.action, call.resource))
        return found


def _named(logical_id: str, handler: Any) -> Any:
    from aws_lambda_powertools.utilities import parameters

    def run(event: Any, context: Any) -> Any:
        # Locally every function shares one parameter cache; on AWS each reads the secret itself.
        parameters.clear_caches()  # type: ignore[no-untyped-call]
        token = CURRENT_FUNCTION.set(logical_id)
        try:
            return handler(event, context)
        finally:
            CURRENT_FUNCTION.reset(token)

    return run
