"""Emulate Lambda's SQS event source mapping (moto does not run one).

Workers long-poll the queue, hand the handler an SQS-shaped event, delete the messages that
succeeded and leave the failed ones (the ``batchItemFailures``, or the whole batch when the handler
raised or answered nonsense) to reappear. Locally a failed message becomes visible again after
``retry_visibility_seconds`` (``ChangeMessageVisibility``) instead of the queue's long visibility
timeout, so a redrive takes seconds. moto itself moves a message to the dead-letter queue when it is
received again after ``maxReceiveCount`` receives, as SQS does; nothing here emulates that.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3

from local_stack.lambda_seam import FakeLambdaContext, LambdaTarget

__all__ = ["EventSourceMapping", "EventSourceStats", "sqs_event"]

_LOG = logging.getLogger(__name__)


@dataclass
class EventSourceStats:
    """Counters since start (read them under no lock: they are informative)."""

    batches: int = 0
    succeeded: int = 0
    failed: int = 0
    handler_errors: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    receive_counts: dict[str, int] = field(default_factory=dict)


def _message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    converted = {}
    for name, value in attributes.items():
        converted[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType"),
        }
    return converted


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """Build the event Lambda passes for a batch of ``ReceiveMessage`` messages.

    Examples
    --------
    >>> sqs_event([{"MessageId": "m", "ReceiptHandle": "r", "Body": "{}", "MD5OfBody": "x",
    ...             "Attributes": {"ApproximateReceiveCount": "1"}}], "arn:q", "us-east-1")["Records"][0]["messageId"]
    'm'
    """
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message.get("Body", ""),
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": _message_attributes(message.get("MessageAttributes", {})),
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


class EventSourceMapping:
    """Background workers that feed an SQS queue to a handler.

    Parameters
    ----------
    target : LambdaTarget
        The function (handler, name, ARN, timeout for the context).
    queue_url : str
        The queue to poll.
    batch_size : int
        Most messages per invocation (SQS returns at most 10 per receive).
    report_batch_item_failures : bool
        Honour ``{"batchItemFailures": [...]}`` answers (``FunctionResponseTypes``).
    maximum_concurrency : int
        Workers (``ScalingConfig.MaximumConcurrency``; Lambda's minimum is 2).
    retry_visibility_seconds : int
        How soon a failed message reappears locally.
    wait_seconds : int
        Long-poll duration; also bounds how long `stop` waits.
    session : boto3.Session | None
        Where the SQS clients come from (clients honour ``AWS_ENDPOINT_URL``): on AWS the mapping polls
        with the function's execution role (``ReceiveMessage``, ``DeleteMessage``, ``GetQueueAttributes``).
    retry_session : boto3.Session | None
        Where the client for ``ChangeMessageVisibility`` comes from (default: ``session``): that call
        is the local shortcut for a quick retry, not something Lambda does with the function's role.

    Examples
    --------
    >>> mapping = EventSourceMapping(target, queue_url, batch_size=5)  # doctest: +SKIP
    >>> with mapping:  # doctest: +SKIP
    ...     ...  # messages sent to the queue now reach target.handler
    """

    def __init__(
        self,
        target: LambdaTarget,
        queue_url: str,
        *,
        batch_size: int = 10,
        report_batch_item_failures: bool = True,
        maximum_concurrency: int = 2,
        retry_visibility_seconds: int = 2,
        wait_seconds: int = 1,
        session: Any = None,
        retry_session: Any = None,
    ) -> None:
        self.target = target
        self.queue_url = queue_url
        self.batch_size = max(1, min(batch_size, 10))
        self.report_batch_item_failures = report_batch_item_failures
        self.maximum_concurrency = max(1, maximum_concurrency)
        self.retry_visibility_seconds = retry_visibility_seconds
        self.wait_seconds = wait_seconds
        self.stats = EventSourceStats()
        self._session = session or boto3.session.Session()
        self._retry_session = retry_session or self._session
        self._sqs: Any = self._session.client("sqs")
        self._region = str(self._sqs.meta.region_name)
        self.queue_arn = str(
            self._sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        )
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> EventSourceMapping:
        """Start the workers (idempotent)."""
        if self._threads:
            return self
        self._stop.clear()
        for index in range(self.maximum_concurrency):
            thread = threading.Thread(target=self._run, name=f"esm-{self.target.name}-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the workers to stop and wait for the batches in progress to finish."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def __enter__(self) -> EventSourceMapping:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        sqs: Any = self._session.client("sqs")  # one client per thread
        retry_sqs: Any = sqs if self._retry_session is self._session else self._retry_session.client("sqs")
        while not self._stop.is_set():
            try:
                messages = sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=self.batch_size,
                    WaitTimeSeconds=self.wait_seconds,
                    AttributeNames=["All"],
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception:
                if self._stop.wait(0.2):
                    return
                _LOG.debug("receive_message failed", exc_info=True)
                continue
            if messages:
                self._process(sqs, messages, retry_sqs)

    def _process(self, sqs: Any, messages: list[dict[str, Any]], retry_sqs: Any) -> None:
        with self._lock:
            self.stats.batches += 1
            self.stats.in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
            for message in messages:
                self.stats.receive_counts[message["MessageId"]] = int(
                    message.get("Attributes", {}).get("ApproximateReceiveCount", "1")
                )
        try:
            failed_ids = self._invoke(messages)
        finally:
            with self._lock:
                self.stats.in_flight -= 1
        succeeded = [m for m in messages if m["MessageId"] not in failed_ids]
        failed = [m for m in messages if m["MessageId"] in failed_ids]
        if succeeded:
            sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(succeeded)],
            )
        for message in failed:
            with contextlib.suppress(Exception):
                retry_sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=self.retry_visibility_seconds,
                )
        with self._lock:
            self.stats.succeeded += len(succeeded)
            self.stats.failed += len(failed)

    def _invoke(self, messages: list[dict[str, Any]]) -> set[str]:
        """Run the handler; return the ids of the messages to retry."""
        all_ids = {m["MessageId"] for m in messages}
        event = sqs_event(messages, self.queue_arn, self._region)
        context = FakeLambdaContext(
            self.target.name, self.target.arn, self.target.memory_mb, self.target.timeout_seconds
        )
        try:
            response = self.target.handler(event, context)
        except Exception as error:
            _LOG.warning(
                "%s raised %s; the batch of %d will be retried",
                self.target.name,
                type(error).__name__,
                len(messages),
                exc_info=True,
            )
            with self._lock:
                self.stats.handler_errors += 1
            return all_ids
        if not self.report_batch_item_failures:
            return set()
        if response is None:
            return set()
        try:
            failures = response.get("batchItemFailures")
            if failures is None:
                return set()
            failed_ids = {str(item["itemIdentifier"]) for item in failures}
        except (AttributeError, KeyError, TypeError):
            _LOG.warning("%s returned an invalid batch response; retrying the batch", self.target.name)
            return all_ids
        if not failed_ids <= all_ids:  # Lambda treats an unknown or empty identifier as a batch failure
            return all_ids
        return failed_ids
