"""THE one place the local stack emulates EventBridge rules that moto does not run.

moto 5.2.5's Step Functions never emits "Step Functions Execution Status Change" events, and its
EventBridge neither runs schedules nor invokes Lambda targets. The rules SAM makes of a function's ``Events``
of type ``EventBridgeRule`` (with ``source: [aws.states]``) and ``Schedule`` (``rate(N unit)``), read from the
translated template (`Template.rules`), are therefore emulated here, by one background thread:

- every ``poll_seconds`` it lists the state machine's executions that ended with a status the
  rule's pattern names (``FAILED`` / ``TIMED_OUT`` / ``ABORTED``) and, once per execution, calls the
  function with the event AWS would deliver (same ``detail-type``, ``source`` and ``detail`` keys);
- every ``schedule_seconds`` (the template's rate, or the override) it calls the scheduled
  function with a "Scheduled Event".

Delivery is at least once in AWS and exactly once here; the handlers must not care.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3

from local_stack.background import BackgroundLoop
from local_stack.lambda_seam import FakeLambdaContext, LambdaTarget

if TYPE_CHECKING:
    from local_stack.template import Template

__all__ = ["EventRules", "ExecutionEventEmulator", "event_rules"]

_LOG = logging.getLogger(__name__)
STATUS_CHANGE = "Step Functions Execution Status Change"
_RATE = re.compile(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class EventRules:
    """Which function gets status-change events (and for which statuses), which one the schedule."""

    status_change_function: str | None = None
    statuses: tuple[str, ...] = ()
    schedule_function: str | None = None
    schedule_seconds: float | None = None


def event_rules(template: Template) -> EventRules:
    """Read the ``AWS::Events::Rule`` s SAM makes of the functions' events: the one matching Step Functions'
    status changes (source ``aws.states``, an ``EventBridgeRule`` event) and the ``rate(...)`` schedule (a
    ``Schedule`` event), with the function each invokes. Disabled rules are left out."""
    status_fn: str | None = None
    statuses: tuple[str, ...] = ()
    schedule_fn: str | None = None
    schedule_seconds: float | None = None
    for rule in template.rules():
        if not rule.enabled or not rule.function_logical_ids:
            continue
        function = rule.function_logical_ids[0]
        pattern = rule.event_pattern or {}
        if "aws.states" in (pattern.get("source") or []):
            status_fn = function
            statuses = tuple(str(s) for s in ((pattern.get("detail") or {}).get("status") or ()))
        match = _RATE.fullmatch((rule.schedule_expression or "").strip())
        if match:
            schedule_fn = function
            schedule_seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]
    return EventRules(status_fn, statuses, schedule_fn, schedule_seconds)


class ExecutionEventEmulator(BackgroundLoop):
    """The thread described in the module docstring (a context manager).

    Parameters
    ----------
    state_machine_arn : str
        Whose executions to watch.
    status_target, schedule_target : LambdaTarget | None
        The functions the two rules invoke (None: that rule is not emulated).
    statuses : tuple[str, ...]
        The statuses the status-change rule matches.
    schedule_seconds : float | None
        The schedule's period.
    poll_seconds : float
        How often executions are listed.
    """

    thread_name = "sfn-events"

    def __init__(
        self,
        state_machine_arn: str,
        *,
        status_target: LambdaTarget | None,
        statuses: tuple[str, ...] = ("FAILED", "TIMED_OUT", "ABORTED"),
        schedule_target: LambdaTarget | None = None,
        schedule_seconds: float | None = None,
        poll_seconds: float = 1.0,
        session: Any = None,
    ) -> None:
        super().__init__()
        self.state_machine_arn = state_machine_arn
        self.status_target = status_target
        self.statuses = statuses
        self.schedule_target = schedule_target
        self.schedule_seconds = schedule_seconds
        self.poll_seconds = poll_seconds
        self.delivered: list[dict[str, Any]] = []
        self._seen: set[str] = set()
        self._session = session or boto3.session.Session()

    def _run(self) -> None:
        sfn: Any = self._session.client("stepfunctions")
        next_sweep = time.monotonic() + (self.schedule_seconds or 0)
        while not self._stop.wait(self.poll_seconds):
            if self.status_target is not None:
                with contextlib.suppress(Exception):
                    self._status_changes(sfn)
            if self.schedule_target is not None and self.schedule_seconds and time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + self.schedule_seconds
                self._invoke(self.schedule_target, _scheduled_event())

    def _status_changes(self, sfn: Any) -> None:
        assert self.status_target is not None
        for status in self.statuses:
            for page in sfn.get_paginator("list_executions").paginate(
                stateMachineArn=self.state_machine_arn, statusFilter=status
            ):
                for execution in page["executions"]:
                    if execution["executionArn"] in self._seen:
                        continue
                    self._seen.add(execution["executionArn"])
                    self._invoke(self.status_target, _status_event(execution, status, self.state_machine_arn))

    def _invoke(self, target: LambdaTarget, event: dict[str, Any]) -> None:
        context = FakeLambdaContext(target.name, target.arn, target.memory_mb, target.timeout_seconds)
        try:
            target.handler(event, context)
        except Exception:
            _LOG.warning("%s raised on an emulated %s event", target.name, event["detail-type"], exc_info=True)
        self.delivered.append(event)


def _epoch_ms(value: Any) -> int | None:
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else None


def _envelope(detail_type: str, source: str, resources: list[str], detail: dict[str, Any]) -> dict[str, Any]:
    arn = resources[0] if resources else "arn:aws:states:us-east-1:123456789012:x"
    parts = arn.split(":")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": parts[4] if len(parts) > 4 else "123456789012",
        "time": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "region": parts[3] if len(parts) > 3 else "us-east-1",
        "resources": resources,
        "detail": detail,
    }


def _status_event(execution: dict[str, Any], status: str, state_machine_arn: str) -> dict[str, Any]:
    """The event AWS sends (input/output are omitted, as they are when they exceed the event size)."""
    detail = {
        "executionArn": execution["executionArn"],
        "stateMachineArn": state_machine_arn,
        "name": execution["name"],
        "status": status,
        "startDate": _epoch_ms(execution.get("startDate")),
        "stopDate": _epoch_ms(execution.get("stopDate")),
        "input": None,
        "output": None,
    }
    return _envelope(STATUS_CHANGE, "aws.states", [execution["executionArn"]], detail)


def _scheduled_event() -> dict[str, Any]:
    return _envelope("Scheduled Event", "aws.events", [], {})
