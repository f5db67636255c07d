"""ComposerWorker: render one queued composer task (SQS batch of one; a failure redelivers it)."""

from __future__ import annotations

import functools
import json
import logging
from typing import TYPE_CHECKING, Any

from poster_composer.cloud.service import build_worker
from poster_composer.cloud.settings import CloudSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from poster_composer.cloud.worker import RenderWorker

logging.getLogger("poster_composer").setLevel(logging.INFO)


@functools.cache
def _worker() -> RenderWorker:
    return build_worker(CloudSettings.from_env())


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    statuses = []
    for record in event["Records"]:
        status = _worker().run(json.loads(record["body"])["task_id"])
        statuses.append(status.value if status else None)
    return {"statuses": statuses}
