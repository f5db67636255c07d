"""Quota and fault-injection configuration: what the composer is told, parsed and checked.

The configuration is one JSON object (``--config FILE`` at start, ``PUT /_composer/config`` at run
time; a PUT merges the keys it names into the current configuration). ``ComposerConfig`` documents
every key. Deterministic **rules** match a substring of the first title, so an end-to-end test can
target one upload; random rates draw from an RNG seeded with ``seed``, so a run is repeatable when
submissions arrive in the same order (`poster_composer.fault_injector` applies them). The errors the faults answer
with (codes and messages) are named here too.

Example
-------
>>> config = ComposerConfig.from_mapping({"max_in_progress": 2, "rules": [
...     {"match": "boom", "task_status": "FAILED", "code": "InternalError", "message": "Inference error"}]})
>>> config.rules[0].task_status
'FAILED'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from poster_composer.errors import ComposerConfigError

TaskStatusOverride = Literal["FAILED", "CANCELED", "UNKNOWN"]

THROTTLING_MESSAGE = "Requests rate limit exceeded, please try again later."
INTERNAL_ERROR_MESSAGE = "An internal error has occured, please try again later or contact service support."
SERVICE_UNAVAILABLE_MESSAGE = "Service is temporarily unavailable, please try again later."
DATA_INSPECTION_CODE = "DataInspectionFailed"
DATA_INSPECTION_MESSAGE = "Output data may contain inappropriate content."
INFERENCE_ERROR_CODE = "InternalError"
INFERENCE_ERROR_MESSAGE = "Inference error"
_MB = 1024 * 1024


@dataclass(frozen=True)
class SubmitErrorAction:
    """Reject matching submissions with ``status`` / ``code`` / ``message``.

    ``times``: reject only the first ``times`` submissions of each matching title, then accept
    (``None``: always reject).
    """

    status: int = 500
    code: str = "InternalError"
    message: str = INTERNAL_ERROR_MESSAGE
    times: int | None = None


@dataclass(frozen=True)
class Rule:
    """A deterministic fault for submissions whose first title contains ``match``.

    The first matching rule (in list order) applies; its actions combine.

    - ``submit_error``: reject the submission (see ``SubmitErrorAction``).
    - ``task_status``: ``"FAILED"`` (with ``code`` / ``message``, default InternalError /
      "Inference error"), ``"CANCELED"``, or ``"UNKNOWN"`` (the task is forgotten when it would
      start, so queries answer UNKNOWN).
    - ``partial``: indices of sub-images that fail with DataInspectionFailed (all failing → FAILED).
    - ``result_urls``: return these URLs as the results instead of ours.
    - ``result_redirect``: our result URLs answer ``302`` with this ``Location``.
    - ``result_content_type``: our result URLs answer with this ``Content-Type``.
    - ``result_extra_bytes``: pad each result body with this many extra bytes.
    - ``result_stall_seconds``: send half of the body, stall this long, then send the rest.
    - ``task_seconds``: minimum task duration for this task (overrides the global one).
    """

    match: str
    submit_error: SubmitErrorAction | None = None
    task_status: TaskStatusOverride | None = None
    code: str | None = None
    message: str | None = None
    partial: tuple[int, ...] = ()
    result_urls: tuple[str, ...] | None = None
    result_redirect: str | None = None
    result_content_type: str | None = None
    result_extra_bytes: int = 0
    result_stall_seconds: float = 0.0
    task_seconds: float | None = None


@dataclass(frozen=True)
class ComposerConfig:
    """Everything the composer can be told at start or at run time (JSON keys = field names).

    Quota: ``max_in_progress`` (tasks RUNNING at once; the rest wait PENDING, FIFO; default 1),
    ``submissions_per_second`` (accepted submissions in any sliding 1-second window; ``null`` =
    unlimited; default 2), ``queries_per_second`` (``null`` = unlimited, the default).

    Timing: ``task_seconds`` (minimum duration of a task from RUNNING to its end; 0 = as long as
    the download and render take).

    Random faults (seeded by ``seed``): ``submit_429_rate``, ``submit_5xx_rate`` (500 or 503),
    ``query_5xx_rate`` (503 on task queries), ``task_failed_rate`` (FAILED InternalError),
    ``partial_rate`` (with n ≥ 2, one sub-image fails with DataInspectionFailed).

    Rules: ``rules`` (list of ``Rule`` objects, see there).

    API: ``api_key`` (``null``: any non-empty Bearer key is accepted), ``models`` (accepted model
    names), ``result_origin`` (scheme://host:port put in result URLs; ``null``: the ``Host`` the
    client used), ``result_url_ttl_seconds``, ``result_cache_max_bytes``, ``task_retention_seconds``.

    Input download: ``fetch_connect_timeout``, ``fetch_read_timeout``, ``fetch_total_timeout``
    (seconds), ``max_image_bytes`` (50 MB), ``max_logo_bytes`` (5 MB).
    """

    max_in_progress: int = 1
    submissions_per_second: float | None = 2.0
    queries_per_second: float | None = None
    task_seconds: float = 0.0
    seed: int = 0
    submit_429_rate: float = 0.0
    submit_5xx_rate: float = 0.0
    query_5xx_rate: float = 0.0
    task_failed_rate: float = 0.0
    partial_rate: float = 0.0
    rules: tuple[Rule, ...] = ()
    api_key: str | None = None
    models: tuple[str, ...] = ("wanx-ast",)
    result_origin: str | None = None
    result_url_ttl_seconds: float = 86400.0
    result_cache_max_bytes: int = 512 * _MB
    task_retention_seconds: float = 86400.0
    fetch_connect_timeout: float = 3.05
    fetch_read_timeout: float = 10.0
    fetch_total_timeout: float = 30.0
    max_image_bytes: int = 50 * _MB
    max_logo_bytes: int = 5 * _MB

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], base: ComposerConfig | None = None) -> ComposerConfig:
        """Parse ``data`` (e.g. a JSON object) onto ``base`` (default: the defaults).

        Raises
        ------
        ComposerConfigError
            An unknown key, or a value of the wrong type or out of range.
        """
        if not isinstance(data, Mapping):
            raise ComposerConfigError("config must be a JSON object")
        changes: dict[str, Any] = {}
        for key, value in data.items():
            parser = _FIELD_PARSERS.get(key)
            if parser is None:
                raise ComposerConfigError(f"unknown config key {key!r}")
            changes[key] = parser(key, value)
        return dataclasses.replace(base or cls(), **changes)

    def to_dict(self) -> dict[str, Any]:
        """The configuration as a JSON-able dict (the body of ``GET /_composer/config``)."""
        out = dataclasses.asdict(self)
        out["models"] = list(self.models)
        out["rules"] = [_rule_to_dict(rule) for rule in self.rules]
        return out

    def match_rule(self, title: str) -> Rule | None:
        """The first rule whose ``match`` is a substring of ``title``."""
        for rule in self.rules:
            if rule.match in title:
                return rule
        return None


def _rule_to_dict(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"match": rule.match}
    for item in dataclasses.fields(rule):
        value = getattr(rule, item.name)
        if item.name == "match" or value == item.default:
            continue
        if isinstance(value, SubmitErrorAction):
            out[item.name] = dataclasses.asdict(value)
        elif isinstance(value, tuple):
            out[item.name] = list(value)
        else:
            out[item.name] = value
    return out


# ---------------------------------------------------------------- value parsers


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ComposerConfigError(f"{key} must be a number")
    return float(value)


def _non_negative(key: str, value: Any) -> float:
    number = _number(key, value)
    if number < 0:
        raise ComposerConfigError(f"{key} must be >= 0")
    return number


def _positive(key: str, value: Any) -> float:
    number = _number(key, value)
    if number <= 0:
        raise ComposerConfigError(f"{key} must be > 0")
    return number


def _optional_positive(key: str, value: Any) -> float | None:
    return None if value is None else _positive(key, value)


def _rate(key: str, value: Any) -> float:
    number = _number(key, value)
    if not 0.0 <= number <= 1.0:
        raise ComposerConfigError(f"{key} must be in [0, 1]")
    return number


def _integer(key: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ComposerConfigError(f"{key} must be an integer")
    if value < minimum:
        raise ComposerConfigError(f"{key} must be >= {minimum}")
    return value


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ComposerConfigError(f"{key} must be a string")
    return value


def _optional_string(key: str, value: Any) -> str | None:
    return None if value is None else _string(key, value)


def _strings(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ComposerConfigError(f"{key} must be a list of strings")
    return tuple(value)


def _submit_error(key: str, value: Any) -> SubmitErrorAction:
    if not isinstance(value, Mapping):
        raise ComposerConfigError(f"{key} must be an object")
    unknown = set(value) - {"status", "code", "message", "times"}
    if unknown:
        raise ComposerConfigError(f"unknown {key} keys: {sorted(unknown)}")
    status = _integer(f"{key}.status", value.get("status", 500), 400)
    if status > 599:
        raise ComposerConfigError(f"{key}.status must be a 4xx or 5xx status")
    times = value.get("times")
    return SubmitErrorAction(
        status=status,
        code=_string(f"{key}.code", value.get("code", "InternalError")),
        message=_string(f"{key}.message", value.get("message", INTERNAL_ERROR_MESSAGE)),
        times=None if times is None else _integer(f"{key}.times", times),
    )


def _task_status(key: str, value: Any) -> TaskStatusOverride | None:
    if value is None:
        return None
    if value not in ("FAILED", "CANCELED", "UNKNOWN"):
        raise ComposerConfigError(f"{key} must be FAILED, CANCELED or UNKNOWN")
    return cast("TaskStatusOverride", value)


def _indices(key: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise ComposerConfigError(f"{key} must be a list of indices")
    return tuple(_integer(key, item) for item in value)


_RULE_PARSERS: Mapping[str, Callable[[str, Any], Any]] = {
    "match": _string,
    "submit_error": _submit_error,
    "task_status": _task_status,
    "code": _optional_string,
    "message": _optional_string,
    "partial": _indices,
    "result_urls": lambda key, value: None if value is None else _strings(key, value),
    "result_redirect": _optional_string,
    "result_content_type": _optional_string,
    "result_extra_bytes": lambda key, value: _integer(key, value),
    "result_stall_seconds": _non_negative,
    "task_seconds": lambda key, value: None if value is None else _non_negative(key, value),
}


def _rule(key: str, value: Any) -> Rule:
    if not isinstance(value, Mapping):
        raise ComposerConfigError(f"{key} must be an object")
    if "match" not in value:
        raise ComposerConfigError(f"{key}.match is required")
    fields: dict[str, Any] = {}
    for name, item in value.items():
        parser = _RULE_PARSERS.get(name)
        if parser is None:
            raise ComposerConfigError(f"unknown rule key {key}.{name}")
        fields[name] = parser(f"{key}.{name}", item)
    return Rule(**fields)


def _rules(key: str, value: Any) -> tuple[Rule, ...]:
    if not isinstance(value, list):
        raise ComposerConfigError(f"{key} must be a list")
    return tuple(_rule(f"{key}[{index}]", item) for index, item in enumerate(value))


_FIELD_PARSERS: Mapping[str, Callable[[str, Any], Any]] = {
    "max_in_progress": lambda key, value: _integer(key, value, 1),
    "submissions_per_second": _optional_positive,
    "queries_per_second": _optional_positive,
    "task_seconds": _non_negative,
    "seed": lambda key, value: _integer(key, value, -(2**63)),
    "submit_429_rate": _rate,
    "submit_5xx_rate": _rate,
    "query_5xx_rate": _rate,
    "task_failed_rate": _rate,
    "partial_rate": _rate,
    "rules": _rules,
    "api_key": _optional_string,
    "models": _strings,
    "result_origin": _optional_string,
    "result_url_ttl_seconds": _positive,
    "result_cache_max_bytes": lambda key, value: _integer(key, value, 1),
    "task_retention_seconds": _positive,
    "fetch_connect_timeout": _positive,
    "fetch_read_timeout": _positive,
    "fetch_total_timeout": _positive,
    "max_image_bytes": lambda key, value: _integer(key, value, 1),
    "max_logo_bytes": lambda key, value: _integer(key, value, 1),
}
assert set(_FIELD_PARSERS) == {item.name for item in dataclasses.fields(ComposerConfig)}
assert set(_RULE_PARSERS) == {item.name for item in dataclasses.fields(Rule)}


def parse_rules(value: Sequence[Mapping[str, Any]]) -> tuple[Rule, ...]:
    """Parse a list of rule objects (helper for tests and the local stack)."""
    return _rules("rules", list(value))
