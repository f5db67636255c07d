"""A multi-format request's outcome: each format's last step settles it; the last one writes the request's manifest.

``poster_common.format_sets`` keeps the request's pending formats; this module turns "every format has ended"
into ``posters/<stem>/manifest.json``, idempotently (a retried step writes the same manifest again).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from poster_common.models import Job
    from poster_common.services import Services

logger = logging.getLogger(__name__)


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
