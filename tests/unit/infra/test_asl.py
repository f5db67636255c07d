"""Static checks of ``statemachine/poster.asl.json`` against docs/design.md ("State machine")."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.unit.infra.cfn_yaml import REPO

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
LAMBDA_TRANSIENT = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "TransientError",
}
POLL_OUT_KEYS = [
    "status",
    "terminal",
    "attempt",
    "wait_seconds",
    "elapsed_seconds",
    "request_id",
    "code",
    "message",
    "task_metrics",
]
_MISSING = object()


# ------------------------------------------------------------------ a tiny JSONPath Choice evaluator


def _get(data: Any, path: str) -> Any:
    assert path.startswith("$"), path
    node = data
    for part in [p for p in path[1:].split(".") if p]:
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _matches(rule: dict[str, Any], data: dict[str, Any]) -> bool:
    """Evaluate one Choice rule; a comparison on a missing path raises, as AWS does (States.Runtime)."""
    if "And" in rule:
        return all(_matches(r, data) for r in rule["And"])  # short-circuits, like AWS
    if "Or" in rule:
        return any(_matches(r, data) for r in rule["Or"])
    if "Not" in rule:
        return not _matches(rule["Not"], data)
    value = _get(data, rule["Variable"])
    if "IsPresent" in rule:
        return (value is not _MISSING) is bool(rule["IsPresent"])
    if value is _MISSING:
        raise LookupError(f"States.Runtime: {rule['Variable']} is missing")
    if "IsNumeric" in rule:
        return _is_number(value) is bool(rule["IsNumeric"])
    if "StringEquals" in rule:
        return isinstance(value, str) and value == rule["StringEquals"]
    if "NumericGreaterThanEqualsPath" in rule:
        other = _get(data, rule["NumericGreaterThanEqualsPath"])
        if other is _MISSING:
            raise LookupError(f"States.Runtime: {rule['NumericGreaterThanEqualsPath']} is missing")
        return _is_number(value) and _is_number(other) and value >= other
    raise AssertionError(f"operator not modelled by this test: {rule}")


def _choose(choice: dict[str, Any], data: dict[str, Any]) -> str:
    for rule in choice["Choices"]:
        if _matches(rule, data):
            return str(rule["Next"])
    return str(choice["Default"])


def _state(status: str | None, attempt: int = 3, elapsed: float = 7.5, **limits: Any) -> dict[str, Any]:
    poll: dict[str, Any] = {"attempt": attempt, "wait_seconds": 2, "elapsed_seconds": elapsed}
    if status is not None:
        poll["status"] = status
    return {
        "job": {"job_id": "j", "submitted_at": "2026-11-24T09:00:00.000Z"},
        "task": {"task_id": "t"},
        "limits": limits or {"max_attempts": 720, "max_wait_seconds": 3600},
        "poll": poll,
    }


# ------------------------------------------------------------------ structure


def _tasks(asl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in asl["States"].items() if s["Type"] == "Task"}


def _successors(state: dict[str, Any]) -> set[str]:
    nexts = {state["Next"]} if "Next" in state else set()
    nexts |= {c["Next"] for c in state.get("Catch", [])}
    nexts |= {c["Next"] for c in state.get("Choices", [])}
    if "Default" in state:
        nexts.add(state["Default"])
    return nexts


def test_definition_is_jsonpath_and_starts_by_waiting(asl: dict[str, Any]) -> None:
    assert "QueryLanguage" not in asl
    assert asl["StartAt"] == "WaitForTask"
    assert asl["States"]["WaitForTask"] == {
        "Type": "Wait",
        "SecondsPath": "$.poll.wait_seconds",
        "Next": "PollTask",
    }


def test_every_next_exists_and_every_state_is_reachable(asl: dict[str, Any]) -> None:
    states = asl["States"]
    for name, state in states.items():
        assert _successors(state) <= set(states), name
    seen, todo = set(), [asl["StartAt"]]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += _successors(states[name])
    assert seen == set(states)


def test_every_placeholder_has_a_definition_substitution(asl_text: str, resources: dict[str, Any]) -> None:
    used = set(PLACEHOLDER.findall(asl_text))
    declared = set(resources["PosterStateMachine"]["Properties"]["DefinitionSubstitutions"])
    assert (
        used == declared == {"PollFunctionArn", "FinalizeFunctionArn", "RecordFailureFunctionArn", "SlotsFunctionArn"}
    )


def test_placeholders_only_appear_as_function_names(asl: dict[str, Any]) -> None:
    for task in _tasks(asl).values():
        assert task["Resource"] == "arn:aws:states:::lambda:invoke"
        assert PLACEHOLDER.fullmatch(task["Parameters"]["FunctionName"])


@pytest.mark.parametrize(
    "task_name", ["PollTask", "FinalizeJob", "RecordFailure", "ReleaseThenFinalize", "ReleaseThenRecord"]
)
def test_task_retries_transient_errors_with_full_jitter(asl: dict[str, Any], task_name: str) -> None:
    task = asl["States"][task_name]
    retriers = task["Retry"]
    covered = {e for r in retriers for e in r["ErrorEquals"]}
    assert covered >= LAMBDA_TRANSIENT
    assert "States.ALL" not in covered  # permanent errors must reach the Catch at once
    for retrier in retriers:
        assert retrier["JitterStrategy"] == "FULL"
        assert 3 <= retrier["MaxAttempts"] <= 5
        assert retrier["BackoffRate"] == 2
        assert retrier["MaxDelaySeconds"] >= retrier["IntervalSeconds"]


@pytest.mark.parametrize(
    ("task_name", "stage", "then"),
    [("PollTask", "poll", "ReleaseThenRecord"), ("FinalizeJob", "finalize", "RecordFailure")],
)
def test_task_errors_are_caught_into_a_stage_then_record_failure(
    asl: dict[str, Any], task_name: str, stage: str, then: str
) -> None:
    # GIVEN the task's Catch
    (catcher,) = asl["States"][task_name]["Catch"]
    assert catcher["ErrorEquals"] == ["States.ALL"]
    assert catcher["ResultPath"] == "$.error"
    # THEN it goes to a Pass state that sets $.failed_stage and then to RecordFailure (via ReleaseThenRecord when
    # the provider slot is still held: Finalize runs after the release)
    pass_state = asl["States"][catcher["Next"]]
    assert pass_state == {"Type": "Pass", "Result": stage, "ResultPath": "$.failed_stage", "Next": then}


def test_record_failure_gets_the_whole_state_and_ends_failed(asl: dict[str, Any]) -> None:
    task = asl["States"]["RecordFailure"]
    assert task["Parameters"]["Payload.$"] == "$"
    assert asl["States"][task["Next"]]["Type"] == "Fail"
    (catcher,) = task["Catch"]
    assert catcher["ErrorEquals"] == ["States.ALL"]
    assert asl["States"][catcher["Next"]]["Type"] == "Fail"  # its own failure ends the execution FAILED


def test_poll_task_payload_and_result_shape(asl: dict[str, Any]) -> None:
    task = asl["States"]["PollTask"]
    assert task["Parameters"]["Payload"] == {
        "task_id.$": "$.task.task_id",
        "attempt.$": "$.poll.attempt",
        "submitted_at.$": "$.job.submitted_at",
    }
    # $.poll becomes the Lambda's returned dict (design.md "Poll ... Out")
    assert task["ResultSelector"] == {f"{k}.$": f"$.Payload.{k}" for k in POLL_OUT_KEYS}
    assert task["ResultPath"] == "$.poll"
    assert task["Next"] == "CheckStatus"


def test_finalize_gets_the_whole_state_and_its_result_lands_at_finalize(asl: dict[str, Any]) -> None:
    task = asl["States"]["FinalizeJob"]
    assert task["Parameters"]["Payload.$"] == "$"
    assert task["ResultPath"] == "$.finalize"
    assert set(task["ResultSelector"]) == {"outcome.$", "output_keys.$", "manifest_key.$"}
    # its success ends the execution SUCCEEDED (no Succeed state: one state transition less per poster)
    assert task["End"] is True and "Next" not in task


@pytest.mark.parametrize(("stage_state", "stage"), [("TaskDidNotSucceed", "task"), ("TimedOut", "timeout")])
def test_choice_exits_set_their_failure_stage(asl: dict[str, Any], stage_state: str, stage: str) -> None:
    assert asl["States"][stage_state] == {
        "Type": "Pass",
        "Result": stage,
        "ResultPath": "$.failed_stage",
        "Next": "ReleaseThenRecord",
    }


# ------------------------------------------------------------------ routing


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_state("PENDING"), "WaitForTask"),
        (_state("RUNNING"), "WaitForTask"),
        (_state("SUSPENDED"), "WaitForTask"),
        (_state("SUCCEEDED"), "ReleaseThenFinalize"),
        (_state("FAILED"), "TaskDidNotSucceed"),
        (_state("CANCELED"), "TaskDidNotSucceed"),
        (_state("UNKNOWN"), "TaskDidNotSucceed"),
        (_state("SOMETHING_NEW"), "TaskDidNotSucceed"),
        (_state(None), "TaskDidNotSucceed"),
        (_state("RUNNING", attempt=720), "TimedOut"),
        (_state("PENDING", attempt=721), "TimedOut"),
        (_state("RUNNING", attempt=719), "WaitForTask"),
        (_state("RUNNING", elapsed=3600.0), "TimedOut"),
        (_state("RUNNING", elapsed=3599.9), "WaitForTask"),
        (_state("RUNNING", attempt=2, max_attempts=2, max_wait_seconds=3600), "TimedOut"),
        # a terminal answer on the last attempt still counts
        (_state("SUCCEEDED", attempt=720), "ReleaseThenFinalize"),
        (_state("FAILED", elapsed=9999), "TaskDidNotSucceed"),
        # missing limits are guarded (no States.Runtime): keep polling, Poll's own cap still applies
        ({**_state("RUNNING"), "limits": {}}, "WaitForTask"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_check_status_routes_each_poll_result(asl: dict[str, Any], data: dict[str, Any], expected: str) -> None:
    # GIVEN the state after PollTask WHEN CheckStatus evaluates it THEN it takes the documented branch
    assert _choose(asl["States"]["CheckStatus"], copy.deepcopy(data)) == expected


def test_failed_canceled_unknown_and_timeouts_all_end_in_record_failure(asl: dict[str, Any]) -> None:
    states = asl["States"]
    for state in [*(_state(s) for s in ("FAILED", "CANCELED", "UNKNOWN")), _state("RUNNING", attempt=10_000)]:
        stage_state = states[_choose(states["CheckStatus"], state)]
        assert stage_state["Next"] == "ReleaseThenRecord"
        assert states["ReleaseThenRecord"]["Next"] == "RecordFailure"


@pytest.mark.parametrize(
    ("release_state", "then"), [("ReleaseThenFinalize", "FinalizeJob"), ("ReleaseThenRecord", "RecordFailure")]
)
def test_release_slot_runs_once_before_finalize_or_record_failure(
    asl: dict[str, Any], release_state: str, then: str
) -> None:
    # GIVEN a release step (a succeeded task's, or a failed one's)
    states = asl["States"]
    release = states[release_state]
    # THEN it hands the job id to the Slots function, keeps the state, and never fails the job
    assert release["Parameters"]["Payload"] == {"action": "release", "job_id.$": "$.job.job_id"}
    assert release["ResultPath"] is None
    (catcher,) = release["Catch"]
    assert catcher["ErrorEquals"] == ["States.ALL"] and catcher["Next"] == release["Next"] == then
    assert catcher["ResultPath"] == "$.release_error"
    # AND the two are the same step but for where they go next
    other = states["ReleaseThenRecord" if release_state == "ReleaseThenFinalize" else "ReleaseThenFinalize"]
    assert {k: v for k, v in release.items() if k not in ("Next", "Catch", "Comment")} == {
        k: v for k, v in other.items() if k not in ("Next", "Catch", "Comment")
    }
    # AND only a succeeded task reaches ReleaseThenFinalize; Finalize's own failure goes to RecordFailure directly
    # (the slot is already free)
    entries = [name for name, state in states.items() if state.get("Next") == "ReleaseThenFinalize"]
    entries += [c["Next"] for c in states["CheckStatus"]["Choices"] if c["Next"] == "ReleaseThenFinalize"]
    assert entries == ["ReleaseThenFinalize"]
    assert _choose(states["CheckStatus"], _state("SUCCEEDED")) == "ReleaseThenFinalize"
    assert states[states["FinalizeJob"]["Catch"][0]["Next"]]["Next"] == "RecordFailure"


def test_every_path_passes_exactly_one_release(asl: dict[str, Any]) -> None:
    states = asl["States"]
    releases = {"ReleaseThenFinalize", "ReleaseThenRecord"}

    def nexts(name: str) -> list[str]:
        state = states[name]
        found = [state["Next"]] if "Next" in state else []
        found += [c["Next"] for c in state.get("Choices", [])] + [c["Next"] for c in state.get("Catch", [])]
        found += [state["Default"]] if "Default" in state else []
        return found

    def walk(name: str, released: int, seen: frozenset[str]) -> None:
        released += name in releases
        assert released <= 1, f"a path passes two releases at {name}"
        following = [n for n in nexts(name) if n not in seen]
        if states[name]["Type"] in ("Fail", "Succeed") or states[name].get("End"):
            assert released == 1, f"a path ends at {name} without a release"
        for nxt in following:
            walk(nxt, released, seen | {name})

    walk(asl["StartAt"], 0, frozenset())


def test_finalize_crash_is_retried_because_its_keys_are_deterministic(asl: dict[str, Any]) -> None:
    covered = {e for r in asl["States"]["FinalizeJob"]["Retry"] for e in r["ErrorEquals"]}
    assert {"Sandbox.Timedout", "Lambda.Unknown", "Runtime.ExitError"} <= covered


def test_every_comparison_in_check_status_is_guarded_by_is_present(asl: dict[str, Any]) -> None:
    def walk(rule: dict[str, Any], guarded: set[str]) -> None:
        if "And" in rule:
            local = set(guarded)
            for sub in rule["And"]:
                walk(sub, local)
                if sub.get("IsPresent") is True:
                    local.add(sub["Variable"])
            return
        for key in ("Or",):
            for sub in rule.get(key, []):
                walk(sub, guarded)
        if "Variable" in rule and "IsPresent" not in rule:
            assert rule["Variable"] in guarded, rule
            for operator, operand in rule.items():
                if operator.endswith("Path") and operator != "Variable":
                    assert operand in guarded, rule

    for rule in asl["States"]["CheckStatus"]["Choices"]:
        walk(rule, set())


# ------------------------------------------------------------------ statelint


def _statelint() -> str | None:
    beside = Path(sys.executable).parent / "statelint"
    return str(beside) if beside.exists() else shutil.which("statelint")


@pytest.mark.skipif(_statelint() is None, reason="statelint is not installed")
@pytest.mark.parametrize("substituted", [False, True], ids=["as-written", "substituted"])
def test_statelint_accepts_the_definition(asl_text: str, tmp_path: Path, substituted: bool) -> None:
    text = asl_text
    if substituted:
        text = PLACEHOLDER.sub(lambda m: f"arn:aws:lambda:us-east-1:123456789012:function:{m.group(1)[:-3]}", asl_text)
        assert "${" not in text
        json.loads(text)
    path = tmp_path / "poster.asl.json"
    path.write_text(text, encoding="utf-8")
    statelint = _statelint()
    assert statelint is not None
    result = subprocess.run([statelint, str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_definition_file_is_the_one_the_template_points_at() -> None:
    assert (REPO / "statemachine" / "poster.asl.json").is_file()
