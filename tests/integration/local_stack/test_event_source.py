"""The SQS event-source emulation: deletes successes, redelivers failures, poison reaches the DLQ."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from local_stack.event_source import EventSourceMapping, sqs_event
from local_stack.lambda_seam import LambdaTarget

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from local_stack.moto_server import MotoServer

pytestmark = pytest.mark.integration


class Recorder:
    """A handler that fails the bodies starting with ``bad`` (or raises for ``raise``) and records calls."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.calls: list[list[dict[str, Any]]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        with self.lock:
            self.calls.append(event["Records"])
        time.sleep(self.delay)
        if any(record["body"].startswith("raise") for record in event["Records"]):
            raise RuntimeError("handler crashed")
        return {
            "batchItemFailures": [
                {"itemIdentifier": record["messageId"]}
                for record in event["Records"]
                if record["body"].startswith("bad")
            ]
        }

    def bodies(self) -> list[str]:
        with self.lock:
            return [record["body"] for batch in self.calls for record in batch]


@pytest.fixture
def queues(moto_server: MotoServer) -> tuple[str, str]:
    sqs = boto3.client("sqs")
    suffix = uuid.uuid4().hex[:8]
    dlq = sqs.create_queue(QueueName=f"dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName=f"q-{suffix}",
        Attributes={
            "VisibilityTimeout": "120",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
        },
    )["QueueUrl"]
    return queue, dlq


def _mapping(handler: Callable[[Any, Any], Any], queue: str, **options: Any) -> EventSourceMapping:
    target = LambdaTarget(
        "submit", "arn:aws:lambda:us-east-1:123456789012:function:submit", handler, timeout_seconds=30
    )
    return EventSourceMapping(target, queue, retry_visibility_seconds=1, **options)


@pytest.fixture
def run() -> Iterator[Callable[..., EventSourceMapping]]:
    started: list[EventSourceMapping] = []

    def start(handler: Callable[[Any, Any], Any], queue: str, **options: Any) -> EventSourceMapping:
        mapping = _mapping(handler, queue, **options).start()
        started.append(mapping)
        return mapping

    yield start
    for mapping in started:
        mapping.stop()


def _depth(queue: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def _send(queue: str, *bodies: str) -> None:
    sqs = boto3.client("sqs")
    for body in bodies:
        sqs.send_message(
            QueueUrl=queue, MessageBody=body, MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}}
        )


def test_successes_are_deleted_and_the_event_is_sqs_shaped(run: Any, queues: tuple[str, str]) -> None:
    queue, dlq = queues
    recorder = Recorder()
    mapping = run(recorder, queue, batch_size=5)

    _send(queue, "ok-1", "ok-2", "ok-3")
    _until(lambda: sorted(recorder.bodies()) == ["ok-1", "ok-2", "ok-3"] and _depth(queue) == 0)

    record = recorder.calls[0][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == mapping.queue_arn
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["kind"]["stringValue"] == "test"
    assert record["receiptHandle"] and record["messageId"] and record["md5OfBody"]
    assert _depth(dlq) == 0
    assert mapping.stats.succeeded == 3 and mapping.stats.failed == 0


def test_batch_item_failures_are_redelivered_then_dead_lettered(run: Any, queues: tuple[str, str]) -> None:
    queue, dlq = queues
    recorder = Recorder()
    mapping = run(recorder, queue, batch_size=10)

    _send(queue, "ok", "bad-poison")
    _until(lambda: _depth(dlq) == 1 and _depth(queue) == 0)

    assert recorder.bodies().count("ok") == 1  # deleted after its first success
    poison = [r for batch in recorder.calls for r in batch if r["body"] == "bad-poison"]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in poison] == ["1", "2"]  # maxReceiveCount = 2
    dead = boto3.client("sqs").receive_message(QueueUrl=dlq)["Messages"]
    assert dead[0]["Body"] == "bad-poison"
    assert mapping.stats.failed == 2


def test_a_raising_handler_fails_the_whole_batch(run: Any, queues: tuple[str, str]) -> None:
    queue, dlq = queues
    recorder = Recorder()
    mapping = run(recorder, queue, batch_size=10)

    _send(queue, "raise-now")
    _until(lambda: _depth(dlq) == 1)

    assert recorder.bodies() == ["raise-now", "raise-now"]
    assert mapping.stats.handler_errors == 2


def test_without_report_batch_item_failures_a_response_is_ignored(run: Any, queues: tuple[str, str]) -> None:
    queue, dlq = queues
    recorder = Recorder()
    run(recorder, queue, report_batch_item_failures=False)

    _send(queue, "bad-but-ignored")
    _until(lambda: recorder.bodies() == ["bad-but-ignored"] and _depth(queue) == 0)

    assert _depth(dlq) == 0


def test_concurrency_is_bounded_by_the_workers(run: Any, queues: tuple[str, str]) -> None:
    queue, _ = queues
    recorder = Recorder(delay=0.3)
    mapping = run(recorder, queue, batch_size=1, maximum_concurrency=2)

    _send(queue, *(f"ok-{i}" for i in range(6)))
    _until(lambda: len(recorder.bodies()) == 6 and _depth(queue) == 0)

    assert mapping.stats.max_in_flight == 2


def test_stop_returns_promptly(queues: tuple[str, str]) -> None:
    queue, _ = queues
    mapping = _mapping(Recorder(), queue, wait_seconds=1).start()

    started = time.monotonic()
    mapping.stop()

    assert time.monotonic() - started < 3


def test_sqs_event_shape_without_optional_fields() -> None:
    event = sqs_event(
        [{"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": "{}"}], "arn:aws:sqs:us-east-1:1:q", "us-east-1"
    )

    assert event == {
        "Records": [
            {
                "messageId": "m-1",
                "receiptHandle": "r-1",
                "body": "{}",
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:1:q",
                "awsRegion": "us-east-1",
            }
        ]
    }
