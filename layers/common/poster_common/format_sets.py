"""Multi-format requests: one job per format, one manifest for the request once every format has ended.

A request with ``formats`` parks one job per format (each its own provider task under the quota gate, its
own folder ``posters/<stem>/<label>/`` and its own manifest). The request itself is one item of the quota
gate's table, ``("set#<set_id>", "-")``: ``pending`` (the labels not yet ended) and ``ended`` (each ended
format's outcome). Every format's last step (Finalize, or a failure record) settles its label with one
update; the update that empties ``pending`` writes ``posters/<stem>/manifest.json``.
Settling is idempotent (a retried step removes an absent label and rewrites the same outcome), so the
request's manifest is written at least once, always with every format in it. A format that fails does
not fail the others: the manifest says which.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from poster_common.models import Job
    from poster_common.services import Services

logger = logging.getLogger(__name__)

SET_TTL_SECONDS = 7 * 24 * 3600


class FormatSets:
    """The ``set#`` items of the quota gate's table."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def open(self, set_id: str, labels: tuple[str, ...]) -> None:
        """Record a request's formats before its jobs are parked; a second call (a retry) changes nothing."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"set#{set_id}"},
                    "sk": {"S": "-"},
                    "pending": {"SS": list(labels)},
                    "ended": {"M": {}},
                    "expires_at": {"N": str(int(time.time()) + SET_TTL_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            logger.info("format set %s was opened before", set_id)

    def settle(self, set_id: str, label: str, outcome: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
        """Record one format's ``outcome``; every format's outcome once none is pending, else None."""
        answer = self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": f"set#{set_id}"}, "sk": {"S": "-"}},
            UpdateExpression="DELETE pending :label SET ended.#label = :outcome",
            ExpressionAttributeNames={"#label": label},
            ExpressionAttributeValues={
                ":label": {"SS": [label]},
                ":outcome": {"S": json.dumps(outcome, sort_keys=True, ensure_ascii=False)},
            },
            ConditionExpression="attribute_exists(pk)",
            ReturnValues="ALL_NEW",
        )
        item = answer["Attributes"]
        if item.get("pending", {}).get("SS"):
            return None
        return {name: json.loads(value["S"]) for name, value in item["ended"]["M"].items()}


def settle_format(job: Job, outcome: dict[str, Any], services: Services) -> str | None:
    """Settle ``job``'s format in its request; write the request's manifest when it was the last. Its key, or None.

    A job that is not one format of a multi-format request has nothing to settle.
    """
    delivery = job.delivery
    if delivery.set_id is None or delivery.format is None:
        return None
    ended = services.format_sets.settle(delivery.set_id, delivery.format.label, outcome)
    if ended is None:
        return None
    settings = services.settings
    key = f"{settings.output_prefix}{job.stem}/manifest.json"
    services.store.put_json(settings.output_bucket, key, request_manifest(job, ended))
    logger.info("request %s: every format has ended, manifest written", delivery.set_id)
    return key


def request_manifest(job: Job, ended: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The request's manifest: each format's outcome (in the order asked), and the request's own."""
    delivery = job.delivery
    formats = {label: ended[label] for label in delivery.set_labels if label in ended}
    outcomes = {entry.get("outcome") for entry in formats.values()}
    overall = "SUCCEEDED" if outcomes == {"SUCCEEDED"} else "FAILED" if outcomes == {"FAILED"} else "PARTIAL"
    return {
        "set_id": delivery.set_id,
        "correlation_id": delivery.correlation_id,
        "source": {"bucket": job.source.bucket, "key": job.source.key, "version_id": job.source.version_id},
        "spec": job.spec.to_dict(),
        "model": job.model,
        "outcome": overall,
        "formats": formats,
        "output_keys": [key for entry in formats.values() for key in entry.get("output_keys", ())],
    }
