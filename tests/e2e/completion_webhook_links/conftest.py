"""End-to-end: the completion webhook with ``WebhookIncludeLinks=true`` (links valid ``WebhookLinkExpirySeconds``=900)
on its own local stack, IAM enforced: the links are presigned by Finalize's role and must download.

One stack per process: this package sorts before ``composer_service`` and the other e2e modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.e2e.webhook_receiver import Jobs, WebhookReceiver, run_jobs, webhook_stack

if TYPE_CHECKING:
    from collections.abc import Iterator

    from local_stack.stack import LocalStack
    from tests.e2e.capture import LogCapture

LINK_SECONDS = 900


@pytest.fixture(scope="package")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookReceiver]:
    with WebhookReceiver(tmp_path_factory.mktemp("webhook-links-tls")) as running:
        yield running


@pytest.fixture(scope="package")
def stack(captured_logs: LogCapture, receiver: WebhookReceiver) -> Iterator[LocalStack]:
    with webhook_stack(receiver, WebhookIncludeLinks="true", WebhookLinkExpirySeconds=str(LINK_SECONDS)) as running:
        yield running


@pytest.fixture(scope="package")
def jobs(stack: LocalStack) -> Jobs:
    return run_jobs(stack, ["ok", "bad"])
