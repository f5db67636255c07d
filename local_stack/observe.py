"""What tests, the demo and the benchmarks ask of a running `LocalStack`: clients, uploads, outcomes, executions,
events and the DashScope stand-in's control API (a mixin: `local_stack.stack.LocalStack` does the starting)."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from local_stack.errors import LocalStackError
from local_stack.iam import RUNNING_ROLE

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from local_stack.composer_process import ComposerProcess
    from local_stack.iam import IamRoles, RoleSession

__all__ = ["Execution", "Outcome", "StackObservation", "UploadResult"]

_DEFAULT_PREFIXES = {"INPUT_PREFIX": "incoming/", "OUTPUT_PREFIX": "posters/", "FAILURE_PREFIX": "failed/"}


@dataclass(frozen=True)
class UploadResult:
    """What `LocalStack.upload` put."""

    bucket: str
    key: str
    etag: str
    version_id: str | None


@dataclass(frozen=True)
class Execution:
    """One state machine execution, with its input and output decoded."""

    name: str
    arn: str
    status: str
    input: Any
    output: Any
    error: str | None
    cause: str | None
    start_date: Any
    stop_date: Any

    @property
    def stem(self) -> str | None:
        """``input.job.stem`` when the input follows the design contract."""
        job = self.input.get("job") if isinstance(self.input, dict) else None
        stem = job.get("stem") if isinstance(job, dict) else None
        return str(stem) if stem is not None else None


@dataclass(frozen=True)
class Outcome:
    """How a job ended: a manifest (``SUCCEEDED`` / ``PARTIAL``) or a failure record (``FAILED``)."""

    stem: str
    status: str
    manifest_key: str
    failure_key: str
    manifest: dict[str, Any] | None
    failure: dict[str, Any] | None
    executions: list[Execution] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        """True for ``SUCCEEDED`` (every result copied)."""
        return self.status == "SUCCEEDED"


def _json_or_text(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _success_status(manifest: dict[str, Any] | None, executions: list[Execution]) -> str:
    """``SUCCEEDED`` or ``PARTIAL``: a multi-format request's manifest's ``outcome`` (over all its formats), else
    Finalize's ``outcome`` in the execution output, else the manifest's."""
    if manifest is not None and "formats" in manifest:
        return str(manifest["outcome"])
    for execution in executions:
        finalize = execution.output.get("finalize") if isinstance(execution.output, dict) else None
        if isinstance(finalize, dict) and finalize.get("outcome"):
            return str(finalize["outcome"])
    return str((manifest or {}).get("outcome") or "SUCCEEDED")


class StackObservation:
    """The observation API of a started stack (see the module docstring)."""

    moto_endpoint: str
    input_bucket: str
    output_bucket: str
    queue_url: str
    dlq_url: str
    events_queue_url: str
    state_machine_arn: str
    environment: dict[str, str]
    iam: IamRoles | None
    composer: ComposerProcess | None
    _clients: dict[tuple[str, str], Any]

    def _role(self, logical_id: str) -> RoleSession:
        raise NotImplementedError  # the stack knows its roles

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on this stack's moto server (cached per service).

        With ``enforce_iam`` it signs with the admin user's key (allowed everything), else with dummy keys.
        """
        admin = self.iam.admin if self.iam is not None else None
        key = (service, self.moto_endpoint)
        if key not in self._clients:
            self._clients[key] = boto3.session.Session().client(  # type: ignore[call-overload]
                service,
                endpoint_url=self.moto_endpoint,
                region_name="us-east-1",
                aws_access_key_id=admin.access_key if admin else "testing",
                aws_secret_access_key=admin.secret_key if admin else "testing",
            )
        return self._clients[key]

    @contextlib.contextmanager
    def as_function(self, logical_id: str) -> Iterator[None]:
        """Run code in this process as ``logical_id``'s handler: its AWS calls sign with the handler's role session.

        For domain code a test calls directly (a retried use case). Without ``enforce_iam`` nothing changes.

        Examples
        --------
        >>> with stack.as_function("FinalizeFunction"):  # doctest: +SKIP
        ...     finalize_job(state, services.from_environment(), lambda: 600_000)
        """
        if self.iam is None:
            yield
            return
        token = RUNNING_ROLE.set(self._role(logical_id))
        try:
            yield
        finally:
            RUNNING_ROLE.reset(token)

    def role_client(self, logical_id: str, service: str) -> Any:
        """A boto3 client signing with a session of exactly ``logical_id``'s role (``enforce_iam`` only).

        The session is not the one the handler runs with (`local_stack.iam`), so what a test is refused
        here never mixes with what the handler did.

        Raises
        ------
        LocalStackError
            Without ``enforce_iam``, or for a function or state machine without a generated role.

        Examples
        --------
        >>> stack.role_client("PollFunction", "s3").list_objects_v2(Bucket=stack.input_bucket)  # doctest: +SKIP
        Traceback (most recent call last):
        botocore.exceptions.ClientError: An error occurred (AccessDenied) ...
        """
        if self.iam is None:
            raise LocalStackError("role_client needs LocalStack(enforce_iam=True)")
        if logical_id not in self.iam.external_sessions:
            raise LocalStackError(f"enforce_iam: {logical_id} has no role generated from the template's Policies")
        session = self.iam.external_sessions[logical_id].session()
        return session.client(service, endpoint_url=self.moto_endpoint)  # type: ignore[call-overload]

    def _prefix(self, name: str) -> str:
        return self.environment.get(name) or _DEFAULT_PREFIXES[name]

    def upload(
        self,
        source: Path | str | bytes,
        key: str | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> UploadResult:
        """Put an object into the input bucket (which triggers the pipeline under ``INPUT_PREFIX``).

        Parameters
        ----------
        source : Path | str | bytes
            A file path or the bytes.
        key : str | None
            The full key; default ``<INPUT_PREFIX><file name>`` for a path.
        metadata : Mapping[str, str] | None
            S3 user metadata without the ``x-amz-meta-`` prefix (``{"poster-title": "Hi"}``).
        content_type : str | None
            Default: guessed from the key's extension.

        Examples
        --------
        >>> stack.upload(b"...", "incoming/a.png", {"poster-title": "Sale"})  # doctest: +SKIP
        """
        if isinstance(source, bytes):
            if key is None:
                raise ValueError("a key is required when uploading bytes")
            body = source
        else:
            path = Path(source)
            body = path.read_bytes()
            key = key or f"{self._prefix('INPUT_PREFIX')}{path.name}"
        extra: dict[str, Any] = {}
        if metadata:
            extra["Metadata"] = dict(metadata)
        guessed = {
            ".png": "image/png",
            ".jpg": "image/jpeg",
            ".jpeg": "image/jpeg",
            ".webp": "image/webp",
            ".json": "application/json",
        }.get(Path(key).suffix.lower())
        if content_type or guessed:
            extra["ContentType"] = content_type or guessed
        response = self.client("s3").put_object(Bucket=self.input_bucket, Key=key, Body=body, **extra)
        return UploadResult(self.input_bucket, key, str(response["ETag"]).strip('"'), response.get("VersionId"))

    def _read_json(self, key: str) -> dict[str, Any] | None:
        s3 = self.client("s3")
        try:
            body = s3.get_object(Bucket=self.output_bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None
        document = json.loads(body)
        return document if isinstance(document, dict) else {"value": document}

    def outcomes(self, stems: set[str]) -> dict[str, str]:
        """stem → ``POSTER`` (a manifest) or ``FAILURE`` (a failure record, which wins: Finalize may write a
        manifest, then fail), for the jobs of ``stems`` that have ended; one listing of each prefix."""
        s3 = self.client("s3")
        found: dict[str, str] = {}
        for prefix, kind in ((self._prefix("OUTPUT_PREFIX"), "POSTER"), (self._prefix("FAILURE_PREFIX"), "FAILURE")):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.output_bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    key = item["Key"][len(prefix) :]
                    stem = key.removesuffix("/manifest.json") if kind == "POSTER" else key.removesuffix(".json")
                    if stem in stems and (kind == "FAILURE" or key.endswith("/manifest.json")):
                        found[stem] = kind
        return found

    def wait_for_outcome(self, stem: str, timeout: float = 60.0, interval: float = 0.2) -> Outcome:
        """Wait until the job of ``stem`` has a manifest or a failure record and no running execution.

        Finalize writes the manifest before it may fail (then RecordFailure writes the failure record),
        so a manifest alone is final only once the stem's execution has stopped.

        Raises
        ------
        LocalStackError
            On timeout; the message lists the executions and the DLQ depth.

        Examples
        --------
        >>> stack.wait_for_outcome("photo", timeout=30).status  # doctest: +SKIP
        'SUCCEEDED'
        """
        manifest_key = f"{self._prefix('OUTPUT_PREFIX')}{stem}/manifest.json"
        failure_key = f"{self._prefix('FAILURE_PREFIX')}{stem}.json"
        deadline = time.monotonic() + timeout
        while True:
            manifest = self._read_json(manifest_key)
            failure = self._read_json(failure_key)
            if manifest is not None or failure is not None:
                executions = [e for e in self.executions() if e.stem == stem]
                if not any(e.status == "RUNNING" for e in executions):
                    # Read again: RecordFailure may have written the record after the first read and
                    # before the execution stopped (Finalize writes the manifest before it fails).
                    manifest = self._read_json(manifest_key)
                    failure = self._read_json(failure_key)
                    status = "FAILED" if failure is not None else _success_status(manifest, executions)
                    return Outcome(stem, status, manifest_key, failure_key, manifest, failure, executions)
            if time.monotonic() > deadline:
                summary = [(e.name, e.status, e.stem) for e in self.executions()]
                raise LocalStackError(
                    f"no outcome for {stem!r} within {timeout}s; executions={summary}, "
                    f"dlq_depth={self.queue_depth(self.dlq_url) if self.dlq_url else 'n/a'}"
                )
            time.sleep(interval)

    def executions(self) -> list[Execution]:
        """Every execution of the state machine, newest first, with input/output decoded."""
        sfn = self.client("stepfunctions")
        found = []
        paginator = sfn.get_paginator("list_executions")
        for page in paginator.paginate(stateMachineArn=self.state_machine_arn):
            for item in page["executions"]:
                detail = sfn.describe_execution(executionArn=item["executionArn"])
                found.append(
                    Execution(
                        name=detail["name"],
                        arn=detail["executionArn"],
                        status=detail["status"],
                        input=_json_or_text(detail.get("input")),
                        output=_json_or_text(detail.get("output")),
                        error=detail.get("error"),
                        cause=detail.get("cause"),
                        start_date=detail.get("startDate"),
                        stop_date=detail.get("stopDate"),
                    )
                )
        return found

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """The execution's history events, oldest first."""
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            events.extend(page["events"])
        return events

    def queue_depth(self, queue_url: str) -> int:
        """Visible + in-flight messages of a queue."""
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def wait_until_queues_drain(self, timeout: float = 30.0, interval: float = 0.2) -> None:
        """Wait until the upload queue holds no message, visible or in flight: Submit has handled all it was sent.

        Raises
        ------
        LocalStackError
            On timeout.
        """
        deadline = time.monotonic() + timeout
        while self.queue_depth(self.queue_url):
            if time.monotonic() > deadline:
                raise LocalStackError(f"the upload queue still holds messages after {timeout}s")
            time.sleep(interval)

    def dlq_messages(self) -> list[str]:
        """The bodies in the DLQ (peeked: they stay in the queue)."""
        if not self.dlq_url:
            return []
        messages = (
            self.client("sqs")
            .receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            .get("Messages", [])
        )
        return [str(message["Body"]) for message in messages]

    def events(self, wait_seconds: int = 1) -> list[dict[str, Any]]:
        """Drain the ``poster-events`` queue: the EventBridge events with source ``poster-pipeline``."""
        sqs = self.client("sqs")
        received: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.events_queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=wait_seconds if not received else 0,
            ).get("Messages", [])
            if not messages:
                return received
            for message in messages:
                received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.events_queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _composer(self) -> ComposerProcess:
        if self.composer is None:
            raise LocalStackError("the composer is not running (LocalStack(composer=False))")
        return self.composer

    def composer_stats(self) -> Any:
        """``GET /_composer/stats`` of the composer."""
        return self._composer().stats()

    def set_composer_config(self, config: dict[str, Any]) -> Any:
        """``PUT /_composer/config`` (quota and fault settings); returns the server's answer."""
        return self._composer().set_config(config)

    def reset_composer(self) -> Any:
        """``POST /_composer/reset``."""
        return self._composer().reset()
