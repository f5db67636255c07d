"""The collaborators a use case needs, built once per execution environment from the environment."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, partial
from typing import TYPE_CHECKING

import requests

from poster_common import aws, profiles
from poster_common.config import Settings
from poster_common.durations import DurationLog
from poster_common.format_sets import FormatSets
from poster_common.poster_api import PosterApiClient
from poster_common.quota_gate import SlotTable
from poster_common.result_download import HostAllowlist
from poster_common.secrets import read_api_key
from poster_common.storage import S3ObjectStore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_stepfunctions import SFNClient

    #: Builds the object store from the S3 client (`S3ObjectStore` itself, or a subclass of it).
    StoreFactory = Callable[[S3Client], S3ObjectStore]


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: S3ObjectStore
    api: PosterApiClient
    http: requests.Session
    allowlist: HostAllowlist
    sfn: SFNClient
    events: EventBridgeClient
    slots: SlotTable
    durations: DurationLog
    format_sets: FormatSets

    @classmethod
    def from_env(cls, environ: Mapping[str, str], store: StoreFactory = S3ObjectStore) -> Services:
        """Build everything once; a ``DASHSCOPE_MODEL`` without a model profile is a ``ValueError`` here.

        ``store`` builds the object store from the S3 client (a local scenario's fault hook: `store_factory`).
        """
        settings = Settings.from_env(environ)
        profile = profiles.profile_for(settings.model)
        http = requests.Session()
        api = PosterApiClient(
            settings.base_url,
            api_key=partial(read_api_key, settings.api_key_secret_name, settings.secret_max_age_seconds),
            session=http,
            timeouts=settings.timeouts,
            max_attempts=settings.submit_max_attempts,
            parse_results=profile.parse_results,
        )
        dynamodb = aws.client("dynamodb")
        return cls(
            settings=settings,
            store=store(aws.client("s3")),
            api=api,
            http=http,
            allowlist=HostAllowlist.parse(settings.result_host_allowlist),
            sfn=aws.client("stepfunctions"),
            events=aws.client("events"),
            durations=DurationLog(dynamodb, settings.duration_table),
            format_sets=FormatSets(dynamodb, settings.slot_table),
            slots=SlotTable(
                dynamodb,
                settings.slot_table,
                max_in_progress=settings.max_in_progress,
                submissions_per_second=settings.submissions_per_second,
            ),
        )


_store_factory: list[StoreFactory] = []


@cache
def from_environment() -> Services:
    """The process-wide ``Services``, built on first use (importing a handler creates no client)."""
    return Services.from_env(os.environ, *_store_factory[-1:])


@contextmanager
def store_factory(factory: StoreFactory) -> Iterator[None]:
    """Within the block, `from_environment` builds its object store with ``factory`` (never on AWS).

    The explicit hook for a fault in the middle of a use case on the local stack: ``bench/finalize_crash.py``
    passes a subclass of `S3ObjectStore` whose ``put_stream`` fails after writing. The process-wide
    ``Services`` is built anew on entry and on exit.
    """
    _store_factory.append(factory)
    from_environment.cache_clear()
    try:
        yield
    finally:
        _store_factory.remove(factory)
        from_environment.cache_clear()
