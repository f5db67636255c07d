"""The collaborators a use case needs, built once per execution environment from the environment."""

from __future__ import annotations

import os
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
    from collections.abc import Mapping

    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_stepfunctions import SFNClient


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
    def from_env(cls, environ: Mapping[str, str]) -> Services:
        """Build everything once; a ``DASHSCOPE_MODEL`` without a model profile is a ``ValueError`` here."""
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
            store=S3ObjectStore(aws.client("s3")),
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


@cache
def from_environment() -> Services:
    """The process-wide ``Services``, built on first use (importing a handler creates no client)."""
    return Services.from_env(os.environ)
