"""End-to-end: uploads through S3's own EventBridge notifications (``UploadNotifications=eventbridge``).

The input bucket has EventBridge notifications on and no queue notification; the template's
``ObjectCreatedRule`` (created in moto by the local stack) routes "Object Created" under the input prefix
to the upload queue. moto's S3 emits those events and its EventBridge matches and delivers them: nothing
here is emulated. One stack per process: this package's stack stops before the next one starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from local_stack.stack import LocalStack

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.e2e.capture import LogCapture


@pytest.fixture(scope="package")
def stack(captured_logs: LogCapture) -> Iterator[LocalStack]:
    with LocalStack(
        parameters={"UploadNotifications": "eventbridge", "PollSchedule": "1", "MaxWaitSeconds": "120"},
        enforce_iam=True,
        environment={"POWERTOOLS_METRICS_DISABLED": "true"},
    ) as running:
        yield running
