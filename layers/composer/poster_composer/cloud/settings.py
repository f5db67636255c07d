"""The deployed composer's settings, read once from the environment the template sets."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

#: A task not finished this long after it was submitted reads as FAILED (its worker died for good).
DEFAULT_TASK_TIMEOUT_SECONDS = 900.0
#: Tasks and their records are kept this long, as DashScope keeps them (the table's TTL).
DEFAULT_RETENTION_SECONDS = 86_400
#: Lifetime asked for a result URL (a URL presigned with a role's credentials dies with them anyway).
DEFAULT_RESULT_URL_SECONDS = 3_600


@dataclass(frozen=True)
class CloudSettings:
    """Where the service keeps its tasks, queue and results, and which buckets it may read."""

    task_table: str
    render_queue_url: str
    result_bucket: str
    source_buckets: frozenset[str]
    api_key_secret: str
    region: str
    s3_endpoint: str | None = None
    models: tuple[str, ...] = ("wanx-ast",)
    task_timeout_seconds: float = DEFAULT_TASK_TIMEOUT_SECONDS
    retention_seconds: int = DEFAULT_RETENTION_SECONDS
    result_url_seconds: int = DEFAULT_RESULT_URL_SECONDS
    secret_max_age_seconds: int = 300

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> CloudSettings:
        """Read ``COMPOSER_*`` (and the secret's name, region and S3 endpoint override).

        Raises
        ------
        KeyError
            A required variable is missing.
        """
        buckets = frozenset(name.strip() for name in environ["COMPOSER_SOURCE_BUCKETS"].split(",") if name.strip())
        return cls(
            task_table=environ["COMPOSER_TASK_TABLE"],
            render_queue_url=environ.get("COMPOSER_RENDER_QUEUE_URL", ""),
            result_bucket=environ["COMPOSER_RESULT_BUCKET"],
            source_buckets=buckets,
            api_key_secret=environ["API_KEY_SECRET_NAME"],
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            s3_endpoint=environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL") or None,
            models=tuple(m.strip() for m in environ.get("COMPOSER_MODELS", "wanx-ast").split(",") if m.strip()),
            task_timeout_seconds=float(environ.get("COMPOSER_TASK_TIMEOUT_SECONDS", DEFAULT_TASK_TIMEOUT_SECONDS)),
            secret_max_age_seconds=int(environ.get("SECRET_MAX_AGE_SECONDS", "300")),
        )
