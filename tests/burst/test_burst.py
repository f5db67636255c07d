"""A burst of uploads with faults, through the real pipeline: nothing lost, nothing submitted twice, quota kept.

The same scenario as ``make burst`` (``bench/burst.py``), smaller: 30 images + 2 corrupt ones at once,
provider tasks of 0.5 s, ~10 % 429 and ~5 % 5xx on submit, ~2 % FAILED tasks, partial results on n=2 jobs,
~10 % re-delivered S3 notifications and one Finalize killed after writing its first object. It runs its own
local stack, started and stopped inside its module's fixture, so it never runs beside another: pytest stops
``tests/e2e``'s package-scoped stack as soon as a process leaves that package, in whichever order a worker gets the
groups (``tests/conftest.py``). No wall-time assertions: the figures are checked, not how long they took.
"""

from __future__ import annotations

import pytest

from bench.burst import BurstConfig, BurstReport, run_burst

pytestmark = pytest.mark.e2e

CONFIG = BurstConfig(jobs=30, corrupt=2, task_seconds=0.5, schedule_seconds=5.0, timeout_seconds=240.0)


@pytest.fixture(scope="module")
def report() -> BurstReport:
    return run_burst(CONFIG)


def test_every_upload_ends_as_a_poster_a_failure_record_or_a_dlq_message(report: BurstReport) -> None:
    # GIVEN 32 distinct uploads (2 of them corrupt) and re-delivered notifications
    # WHEN the burst has run
    # THEN each has exactly one outcome: none lost
    assert report.uploads == 32
    assert report.lost == 0
    assert sum(report.outcomes.values()) == report.uploads
    assert report.outcomes["failure_records"] >= CONFIG.corrupt  # corrupt images never take a slot


def test_no_job_is_submitted_twice(report: BurstReport) -> None:
    # GIVEN duplicated S3 events, 429s, 5xx and a Finalize crash
    # THEN the composer accepted at most one task per upload
    assert report.duplicate_notifications >= 1
    assert report.duplicates == 0
    assert report.submissions["accepted"] <= CONFIG.jobs


def test_the_quota_is_kept(report: BurstReport) -> None:
    # GIVEN a composer that would run more tasks at once than the pipeline's limit
    assert report.provider_in_progress_cap > CONFIG.max_in_progress
    # THEN the pipeline never had more in progress, nor submitted faster, than its limits
    assert 1 <= report.max_in_progress_observed <= CONFIG.max_in_progress
    assert report.max_submissions_in_1s <= CONFIG.submissions_per_second


def test_throttling_was_exercised_and_survived(report: BurstReport) -> None:
    rejected = report.submissions["rejected"]
    assert sum(rejected.values()) >= 1  # 429 / 5xx happened, and the jobs still finished (lost == 0)


def test_a_finalize_crash_is_retried_to_a_complete_result(report: BurstReport) -> None:
    crash = report.finalize_crash
    assert crash["outcome"] == "POSTER"
    assert crash["objects_present"] == crash["results_copied"] >= 1


def test_orchestration_cost_per_poster_does_not_grow_with_the_backlog(report: BurstReport) -> None:
    # The state transitions of a poster are the same alone and in a burst (no busy-waiting on a lock);
    # Lambda invocations per poster are no higher (Submit batches uploads in a burst).
    assert report.ratios["state_transitions_per_poster"] <= 1.1
    assert report.ratios["lambda_invocations_per_poster"] <= 1.1
