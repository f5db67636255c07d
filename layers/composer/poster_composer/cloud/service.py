"""Assemble the deployed composer from its settings: the API (create, query, cancel) and the render worker."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from poster_composer.api import ComposerApp
from poster_composer.cloud.results import ResultBucket, s3_client
from poster_composer.cloud.sources import SourcePolicy
from poster_composer.cloud.store import DynamoTaskStore
from poster_composer.cloud.tasks import CloudTasks
from poster_composer.cloud.worker import RenderWorker
from poster_composer.faults import ComposerConfig
from poster_composer.input_media import HttpMediaFetcher
from poster_composer.production import render_with_composer

if TYPE_CHECKING:
    from collections.abc import Callable

    from poster_composer.cloud.settings import CloudSettings


class SecretApiKey:
    """The key clients must present: the stack's generated secret (the one the pipeline reads), cached.

    The secret holds the key as a plain string or as ``{"api_key": "..."}``. Never logged.
    """

    def __init__(self, client: Any, secret_id: str, max_age_seconds: float, clock: Callable[[], float]) -> None:
        self._client = client
        self._secret_id = secret_id
        self._max_age = max_age_seconds
        self._clock = clock
        self._value: str | None = None
        self._read_at = float("-inf")

    def __call__(self) -> str:
        if self._value is None or self._clock() - self._read_at > self._max_age:
            raw = str(self._client.get_secret_value(SecretId=self._secret_id)["SecretString"])
            self._value = _key_of(raw)
            self._read_at = self._clock()
        return self._value


def _key_of(raw: str) -> str:
    text = raw.strip()
    if text.startswith("{"):
        return str(json.loads(text)["api_key"]).strip()
    return text


def cloud_config(settings: CloudSettings) -> ComposerConfig:
    """The composer configuration of the deployed service: no injected faults, no local quota (the
    pipeline's quota gate and the worker's concurrency bound it), the accepted models."""
    return ComposerConfig(
        submissions_per_second=None,
        queries_per_second=None,
        models=settings.models,
        result_url_ttl_seconds=float(settings.result_url_seconds),
    )


def source_policy(settings: CloudSettings) -> SourcePolicy:
    """Only the stack's own input and output buckets."""
    return SourcePolicy(settings.source_buckets, settings.region, settings.s3_endpoint)


def task_store(settings: CloudSettings, clock: Callable[[], float]) -> DynamoTaskStore:
    """The service's task table."""
    import boto3

    table = boto3.resource("dynamodb", region_name=settings.region).Table(settings.task_table)
    return DynamoTaskStore(table, settings.retention_seconds, clock)


def result_bucket(settings: CloudSettings) -> ResultBucket:
    """The service's result bucket, presigning on its regional virtual-hosted host."""
    client = s3_client(settings.region, settings.s3_endpoint)
    return ResultBucket(client, settings.result_bucket, settings.result_url_seconds)


def build_api(settings: CloudSettings, clock: Callable[[], float] = time.time) -> ComposerApp:
    """The API the HTTP API function serves (create, query, cancel; no control API, no result route)."""
    import boto3

    store = task_store(settings, clock)
    tasks = CloudTasks(
        store,
        result_bucket(settings),
        boto3.client("sqs", region_name=settings.region),
        settings.render_queue_url,
        settings.task_timeout_seconds,
        clock,
    )
    key = SecretApiKey(
        boto3.client("secretsmanager", region_name=settings.region),
        settings.api_key_secret,
        settings.secret_max_age_seconds,
        time.monotonic,
    )
    return ComposerApp(
        cloud_config(settings), tasks=tasks, api_key=key, check_source=source_policy(settings).check, control=False
    )


def build_worker(settings: CloudSettings, clock: Callable[[], float] = time.time) -> RenderWorker:
    """The render worker the queue's function runs."""
    return RenderWorker(
        task_store(settings, clock),
        result_bucket(settings),
        source_policy(settings),
        HttpMediaFetcher(follow_redirects=False),
        render_with_composer,
        cloud_config(settings),
        stale_after=settings.task_timeout_seconds / 3,
        max_age=settings.task_timeout_seconds,
    )
