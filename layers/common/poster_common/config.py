"""Settings, read once from the environment (explicit mapping in, so tests never touch ``os.environ``)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from poster_common import profiles, regions

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

DEFAULT_REGION = regions.DEFAULT_REGION
DEFAULT_BASE_URL, DEFAULT_RESULT_HOSTS = regions.region_preset(DEFAULT_REGION)
DEFAULT_MODEL = "wanx-ast"
DEFAULT_POLL_SCHEDULE = (1, 1, 2, 2, 2, 4, 4, 4, 5)
#: The share of the provider's query quota held Polls may use (DashScope: 20 queries/s per account).
HOLD_QUERY_SHARE = 0.75


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


#: How a variable's text becomes a setting, by the setting's declared type.
_PARSERS: dict[str, Callable[[str], object]] = {
    "str": str,
    "int": int,
    "float": float,
    "tuple[str, ...]": _split,
    "tuple[int, ...]": lambda text: tuple(int(part) for part in _split(text)),
}


def _region_defaults(name: str | None) -> dict[str, object]:
    """The base URL and result hosts of ``DASHSCOPE_REGION``; ``DASHSCOPE_BASE_URL`` and
    ``RESULT_HOST_ALLOWLIST``, read after this, override them."""
    region = (name or DEFAULT_REGION).lower()
    preset = regions.region_preset(region)
    return {
        "region": region,
        "base_url": preset.base_url,
        "result_host_allowlist": preset.result_hosts,
    }


def _quota_defaults(model: str) -> dict[str, object]:
    """The model profile's quota; the ``MODEL_*`` variables, read after this, override it. A model without
    a profile keeps the class defaults here (``Services.from_env`` refuses it at cold start)."""
    profile = profiles.find_profile(model)
    if profile is None:
        return {}
    quota = profile.quota
    return {
        "max_in_progress": quota.max_in_progress,
        "submissions_per_second": quota.submissions_per_second,
        "queries_per_second": quota.queries_per_second,
    }


def _env(name: str, default: Any) -> Any:
    """A setting read from the environment variable ``name`` (parsed by the field's type), else ``default``."""
    return field(default=default, metadata={"env": name})


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the domain code needs to know about its deployment: one declaration per setting (its
    environment variable, type and default; docs/design.md's table is the contract).

    Examples
    --------
    >>> Settings.from_env({"INPUT_BUCKET": "in", "OUTPUT_BUCKET": "out"}).model
    'wanx-ast'
    """

    region: str = _env("DASHSCOPE_REGION", DEFAULT_REGION)
    base_url: str = _env("DASHSCOPE_BASE_URL", DEFAULT_BASE_URL)
    model: str = _env("DASHSCOPE_MODEL", DEFAULT_MODEL)
    api_key_secret_name: str = _env("API_KEY_SECRET_NAME", "poster-pipeline/dashscope-api-key")
    result_host_allowlist: tuple[str, ...] = _env("RESULT_HOST_ALLOWLIST", DEFAULT_RESULT_HOSTS)
    input_bucket: str = _env("INPUT_BUCKET", "")
    output_bucket: str = _env("OUTPUT_BUCKET", "")
    input_prefix: str = _env("INPUT_PREFIX", "incoming/")
    output_prefix: str = _env("OUTPUT_PREFIX", "posters/")
    failure_prefix: str = _env("FAILURE_PREFIX", "failed/")
    normalised_prefix: str = _env("NORMALISED_PREFIX", "normalised/")
    idempotency_table: str = _env("IDEMPOTENCY_TABLE", "")
    state_machine_arn: str = _env("STATE_MACHINE_ARN", "")
    event_bus_name: str = _env("EVENT_BUS_NAME", "default")
    poster_request_source: str = _env("POSTER_REQUEST_SOURCE", "poster-pipeline.requests")
    poll_schedule: tuple[int, ...] = _env("POLL_SCHEDULE", DEFAULT_POLL_SCHEDULE)
    max_poll_attempts: int = _env("MAX_POLL_ATTEMPTS", 720)
    max_wait_seconds: int = _env("MAX_WAIT_SECONDS", 3600)
    max_input_bytes: int = _env("MAX_INPUT_BYTES", 50 * 1024 * 1024)
    max_result_bytes: int = _env("MAX_RESULT_BYTES", 50 * 1024 * 1024)
    connect_timeout: float = _env("HTTP_CONNECT_TIMEOUT", 3.05)
    read_timeout: float = _env("HTTP_READ_TIMEOUT", 30.0)
    submit_max_attempts: int = _env("SUBMIT_MAX_ATTEMPTS", 5)
    presign_expires_seconds: int = _env("PRESIGN_EXPIRES_SECONDS", 3600)
    completion_link_seconds: int = _env("COMPLETION_LINK_SECONDS", 0)  # 0: the completion event has no links
    secret_max_age_seconds: int = _env("SECRET_MAX_AGE_SECONDS", 300)
    slot_table: str = _env("SLOT_TABLE", "")
    duration_table: str = _env("DURATION_TABLE", "")
    max_in_progress: int = _env("MODEL_MAX_IN_PROGRESS", 1)
    submissions_per_second: float = _env("MODEL_SUBMISSIONS_PER_SECOND", 2.0)
    slot_lease_seconds: int = _env("SLOT_LEASE_SECONDS", 0)  # 0: MAX_WAIT_SECONDS + 900
    dispatch_lease_seconds: int = _env("DISPATCH_LEASE_SECONDS", 300)
    dispatch_max_rounds: int = _env("DISPATCH_MAX_ROUNDS", 3)
    poll_hold_seconds: float = _env("POLL_HOLD_SECONDS", 0.0)
    queries_per_second: float = _env("MODEL_QUERIES_PER_SECOND", 20.0)

    @property
    def poll_hold_interval(self) -> float:
        """Seconds between the queries of a held Poll: the running tasks share ``HOLD_QUERY_SHARE`` of the
        provider's query quota (``MODEL_QUERIES_PER_SECOND``); the rest stays for Finalize and retries."""
        return self.max_in_progress / (HOLD_QUERY_SHARE * self.queries_per_second)

    @property
    def timeouts(self) -> tuple[float, float]:
        """``(connect, read)`` for every ``requests`` call."""
        return (self.connect_timeout, self.read_timeout)

    @property
    def execution_lease_seconds(self) -> int:
        """How long a running job's slot lease lasts if nothing releases it (the last line of defence)."""
        return self.slot_lease_seconds or self.max_wait_seconds + 900

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from environment variables; unset or empty variables keep their defaults.

        The region's base URL and result hosts, then the model profile's quota, are the defaults the
        variables override.
        """

        def get(name: str) -> str | None:
            value = environ.get(name, "").strip()
            return value or None

        values = _region_defaults(get("DASHSCOPE_REGION")) | _quota_defaults(get("DASHSCOPE_MODEL") or DEFAULT_MODEL)
        for setting in fields(cls):
            if (text := get(setting.metadata["env"])) is not None:
                values[setting.name] = _PARSERS[str(setting.type)](text)
        values["region"] = str(values["region"]).lower()  # region names compare in any letter case
        settings = cls(**values)  # type: ignore[arg-type]
        settings._check()
        return settings

    def _check(self) -> None:
        if not self.poll_schedule or any(step < 0 for step in self.poll_schedule):
            raise ValueError("POLL_SCHEDULE must be a non-empty list of non-negative whole seconds")
        if self.max_in_progress < 1 or self.submissions_per_second <= 0 or self.dispatch_max_rounds < 1:
            raise ValueError(
                "MODEL_MAX_IN_PROGRESS and DISPATCH_MAX_ROUNDS must be ≥ 1, MODEL_SUBMISSIONS_PER_SECOND > 0"
            )
        if self.queries_per_second <= 0:
            raise ValueError("MODEL_QUERIES_PER_SECOND must be > 0")
        if not 0 <= self.poll_hold_seconds <= 30:
            raise ValueError("POLL_HOLD_SECONDS must be between 0 and 30 (the Poll function's timeout is 45 s)")
        if not 0 <= self.completion_link_seconds <= 7 * 86400:
            raise ValueError("COMPLETION_LINK_SECONDS must be between 0 (no links) and 604800 (SigV4's 7 days)")
        if self.submit_max_attempts < 1:
            raise ValueError("SUBMIT_MAX_ATTEMPTS must be at least 1")
        written = (self.output_prefix, self.failure_prefix, self.normalised_prefix)
        for prefix in (self.input_prefix, *written):
            if not prefix.endswith("/"):
                raise ValueError(f"prefixes must end with '/': {prefix!r}")
        # What the pipeline writes must never start a job, even when one bucket is both input and output.
        for prefix in written:
            if prefix.startswith(self.input_prefix) or self.input_prefix.startswith(prefix):
                raise ValueError(
                    f"INPUT_PREFIX {self.input_prefix!r} and {prefix!r} overlap: the pipeline would trigger itself"
                )
