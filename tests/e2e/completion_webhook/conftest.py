"""End-to-end: the completion webhook (``CompletionWebhookUrl``) on its own local stack, links off (the default).

The stack runs the template as it deploys (``Engine=composer``, IAM enforced) with ``CompletionWebhookUrl`` pointing at
a local HTTPS receiver (``tests/e2e/webhook_receiver.py``, its own CA, which the emulated API destination trusts);
``local_stack/api_destinations.py`` delivers the rule's events with the template's retry policy shortened to two
retries. The package's jobs are uploaded together and awaited once, then their deliveries.

One stack per process: this package sorts before the other e2e modules (and before ``composer_service``), so its
stack is stopped before theirs starts.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.webhook_receiver import Jobs, WebhookReceiver, run_jobs, webhook_stack

if TYPE_CHECKING:
    from collections.abc import Iterator

    from local_stack.stack import LocalStack
    from tests.e2e.capture import LogCapture


@pytest.fixture(scope="package")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookReceiver]:
    with WebhookReceiver(tmp_path_factory.mktemp("webhook-tls")) as running:
        yield running


@pytest.fixture(scope="package")
def stack(captured_logs: LogCapture, receiver: WebhookReceiver) -> Iterator[LocalStack]:
    with webhook_stack(receiver) as running:
        yield running


@pytest.fixture(scope="package")
def jobs(stack: LocalStack) -> Jobs:
    return run_jobs(stack, ["ok", "bad", "hook503", "hook400"])


@pytest.fixture(scope="package")
def dead_letters(stack: LocalStack, jobs: Jobs) -> dict[str, dict[str, Any]]:
    """The webhook DLQ's messages by their event's source key: ``{"event": …, "attributes": {…}}``."""
    sqs = stack.client("sqs")
    found: dict[str, dict[str, Any]] = {}
    for _ in range(5):
        for message in sqs.receive_message(
            QueueUrl=stack.resources.queue_urls["WebhookDLQ"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            event = json.loads(message["Body"])
            attributes = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
            found[event["detail"]["source_key"]] = {"event": event, "attributes": attributes}
    return found
