"""Settings, read once from the environment (explicit mapping in, so tests never touch ``os.environ``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_BASE_URL = "https://dashscope.aliyuncs.com/api/v1"
DEFAULT_MODEL = "wanx-ast"
DEFAULT_RESULT_HOSTS = (
    "dashscope-result-bj.oss-cn-beijing.aliyuncs.com",
    "dashscope-result-hz.oss-cn-hangzhou.aliyuncs.com",
    "dashscope-result-sh.oss-cn-shanghai.aliyuncs.com",
    "dashscope-result-wlcb.oss-cn-wulanchabu.aliyuncs.com",
    "dashscope-result-zjk.oss-cn-zhangjiakou.aliyuncs.com",
    "dashscope-result-sz.oss-cn-shenzhen.aliyuncs.com",
    "dashscope-result-hy.oss-cn-heyuan.aliyuncs.com",
    "dashscope-result-cd.oss-cn-chengdu.aliyuncs.com",
    "dashscope-result-gz.oss-cn-guangzhou.aliyuncs.com",
)
DEFAULT_POLL_SCHEDULE = (1, 1, 2, 2, 2, 4, 4, 4, 5)


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the domain code needs to know about its deployment.

    Examples
    --------
    >>> Settings.from_env({"INPUT_BUCKET": "in", "OUTPUT_BUCKET": "out"}).model
    'wanx-ast'
    """

    base_url: str = DEFAULT_BASE_URL
    model: str = DEFAULT_MODEL
    api_key_secret_name: str = "poster-pipeline/dashscope-api-key"
    result_host_allowlist: tuple[str, ...] = DEFAULT_RESULT_HOSTS
    input_bucket: str = ""
    output_bucket: str = ""
    input_prefix: str = "incoming/"
    output_prefix: str = "posters/"
    failure_prefix: str = "failed/"
    idempotency_table: str = ""
    state_machine_arn: str = ""
    event_bus_name: str = "default"
    poll_schedule: tuple[int, ...] = DEFAULT_POLL_SCHEDULE
    max_poll_attempts: int = 720
    max_wait_seconds: int = 3600
    max_input_bytes: int = 50 * 1024 * 1024
    max_result_bytes: int = 50 * 1024 * 1024
    connect_timeout: float = 3.05
    read_timeout: float = 30.0
    submit_max_attempts: int = 5
    presign_expires_seconds: int = 3600
    secret_max_age_seconds: int = 300

    @property
    def timeouts(self) -> tuple[float, float]:
        """``(connect, read)`` for every ``requests`` call."""
        return (self.connect_timeout, self.read_timeout)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from environment variables; unset or empty variables keep their defaults."""

        def get(name: str) -> str | None:
            value = environ.get(name, "").strip()
            return value or None

        values: dict[str, object] = {}
        text_fields = {
            "DASHSCOPE_BASE_URL": "base_url",
            "DASHSCOPE_MODEL": "model",
            "API_KEY_SECRET_NAME": "api_key_secret_name",
            "INPUT_BUCKET": "input_bucket",
            "OUTPUT_BUCKET": "output_bucket",
            "INPUT_PREFIX": "input_prefix",
            "OUTPUT_PREFIX": "output_prefix",
            "FAILURE_PREFIX": "failure_prefix",
            "IDEMPOTENCY_TABLE": "idempotency_table",
            "STATE_MACHINE_ARN": "state_machine_arn",
            "EVENT_BUS_NAME": "event_bus_name",
        }
        int_fields = {
            "MAX_POLL_ATTEMPTS": "max_poll_attempts",
            "MAX_WAIT_SECONDS": "max_wait_seconds",
            "MAX_INPUT_BYTES": "max_input_bytes",
            "MAX_RESULT_BYTES": "max_result_bytes",
            "SUBMIT_MAX_ATTEMPTS": "submit_max_attempts",
            "PRESIGN_EXPIRES_SECONDS": "presign_expires_seconds",
            "SECRET_MAX_AGE_SECONDS": "secret_max_age_seconds",
        }
        float_fields = {"HTTP_CONNECT_TIMEOUT": "connect_timeout", "HTTP_READ_TIMEOUT": "read_timeout"}
        for env_name, field_name in text_fields.items():
            if (text := get(env_name)) is not None:
                values[field_name] = text
        for env_name, field_name in int_fields.items():
            if (text := get(env_name)) is not None:
                values[field_name] = int(text)
        for env_name, field_name in float_fields.items():
            if (text := get(env_name)) is not None:
                values[field_name] = float(text)
        if (hosts := get("RESULT_HOST_ALLOWLIST")) is not None:
            values["result_host_allowlist"] = _split(hosts)
        if (schedule := get("POLL_SCHEDULE")) is not None:
            values["poll_schedule"] = tuple(int(part) for part in _split(schedule))
        settings = cls(**values)  # type: ignore[arg-type]
        settings._check()
        return settings

    def _check(self) -> None:
        if not self.poll_schedule or any(step < 0 for step in self.poll_schedule):
            raise ValueError("POLL_SCHEDULE must be a non-empty list of non-negative whole seconds")
        if self.submit_max_attempts < 1:
            raise ValueError("SUBMIT_MAX_ATTEMPTS must be at least 1")
        for prefix in (self.input_prefix, self.output_prefix, self.failure_prefix):
            if not prefix.endswith("/"):
                raise ValueError(f"prefixes must end with '/': {prefix!r}")
