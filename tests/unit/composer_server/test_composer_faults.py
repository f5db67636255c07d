"""The configuration parser and the fault injector."""

from __future__ import annotations

import json
from typing import Any

import pytest

from poster_composer.errors import ComposerConfigError
from poster_composer.fault_injector import FaultInjector
from poster_composer.faults import ComposerConfig, Rule, SubmitErrorAction, parse_rules


def test_defaults_match_the_documented_model_limits() -> None:
    config = ComposerConfig()
    assert (config.max_in_progress, config.submissions_per_second, config.task_seconds) == (1, 2.0, 0.0)
    assert config.models == ("wanx-ast",)


def test_partial_updates_merge_and_round_trip_through_json() -> None:
    base = ComposerConfig.from_mapping({"max_in_progress": 3, "seed": 9})
    rules = [
        {"match": "x", "submit_error": {"status": 429, "code": "Throttling", "message": "m", "times": 1}},
        {"match": "y", "result_urls": ["https://a/b.png"], "task_seconds": 0.5, "partial": [0, 1]},
    ]
    config = ComposerConfig.from_mapping({"task_seconds": 1, "rules": rules}, base=base)
    assert (config.max_in_progress, config.seed, config.task_seconds) == (3, 9, 1.0)
    assert config.rules[0].submit_error == SubmitErrorAction(429, "Throttling", "m", 1)
    as_json = json.loads(json.dumps(config.to_dict()))
    assert as_json["rules"] == rules
    assert ComposerConfig.from_mapping(as_json) == config


@pytest.mark.parametrize(
    "data",
    [
        {"nope": 1},
        {"max_in_progress": 0},
        {"max_in_progress": 1.5},
        {"max_in_progress": True},
        {"submissions_per_second": 0},
        {"task_seconds": -1},
        {"partial_rate": 1.5},
        {"models": "wanx-ast"},
        {"rules": {}},
        {"rules": [{"task_status": "FAILED"}]},
        {"rules": [{"match": "x", "task_status": "DONE"}]},
        {"rules": [{"match": "x", "what": 1}]},
        {"rules": [{"match": "x", "submit_error": {"status": 200}}]},
        {"rules": [{"match": "x", "submit_error": {"extra": 1}}]},
        {"rules": [{"match": "x", "partial": [-1]}]},
    ],
)
def test_invalid_configs_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ComposerConfigError):
        ComposerConfig.from_mapping(data)


def test_the_first_matching_rule_applies() -> None:
    config = ComposerConfig(
        rules=parse_rules([{"match": "sale", "task_status": "FAILED"}, {"match": "", "task_status": "CANCELED"}])
    )
    assert config.match_rule("Big sale!") is config.rules[0]
    assert config.match_rule("anything") is config.rules[1]
    assert ComposerConfig().match_rule("x") is None


def test_submit_error_times_counts_per_title() -> None:
    config = ComposerConfig(rules=(Rule(match="flaky", submit_error=SubmitErrorAction(503, "S", "m", 2)),))
    injector = FaultInjector()
    rule = config.rules[0]
    results = [injector.submit_fault(config, rule, "flaky a") for _ in range(3)]
    assert [None if error is None else error.status for error in results] == [503, 503, None]
    assert injector.submit_fault(config, rule, "flaky b") is not None  # another title has its own count
    injector.reseed(0)
    assert injector.submit_fault(config, rule, "flaky a") is not None  # reseed forgets the counts


def test_random_faults_are_repeatable_for_a_seed() -> None:
    config = ComposerConfig(submit_429_rate=0.3, submit_5xx_rate=0.3, task_failed_rate=0.3, partial_rate=0.5)

    def draw(seed: int) -> list[Any]:
        injector = FaultInjector(seed)
        out: list[Any] = []
        for _ in range(20):
            error = injector.submit_fault(config, None, "t")
            plan = injector.plan_task(config, None, 3)
            out.append((None if error is None else error.status, plan.outcome, sorted(plan.failed_indices)))
        return out

    assert draw(1) == draw(1)
    statuses = {item[0] for item in draw(1)}
    assert {None, 429} <= statuses and statuses <= {None, 429, 500, 503}


def test_task_plans_from_rules() -> None:
    config = ComposerConfig(task_seconds=0.1)
    rule = Rule(match="x", task_status="FAILED", partial=(1, 7), task_seconds=2.0, result_redirect="https://e/")
    plan = FaultInjector().plan_task(config, rule, 2)
    assert (plan.outcome, plan.code, plan.message) == ("FAILED", "InternalError", "Inference error")
    assert plan.failed_indices == frozenset({1}) and plan.task_seconds == 2.0
    assert plan.results.redirect == "https://e/"
    assert FaultInjector().plan_task(config, None, 1).task_seconds == 0.1
    # partial_rate never fails the only image of an n=1 task
    assert not FaultInjector().plan_task(ComposerConfig(partial_rate=1.0), None, 1).failed_indices
