"""Multi-format requests: one job per format, one manifest for the request once every format has ended.

A request with ``formats`` parks one job per format (each its own provider task under the quota gate, its
own folder ``posters/<stem>/<label>/`` and its own manifest). The request itself is one item of the quota
gate's table, ``("set#<set_id>", "-")``: ``pending`` (the labels not yet ended) and ``ended`` (each ended
format's outcome). Every format's last step (Finalize, or a failure record) settles its label with one
update; the update that empties ``pending`` has every outcome (``poster_common.request_outcome`` then writes
``posters/<stem>/manifest.json``).
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
