"""``make burst``: hundreds of uploads at once, with faults, through the real pipeline on the local stack.

Prints a table and writes ``out/burst.json``; asserts nothing (``tests/burst/test_burst.py`` runs the same scenario,
smaller, and asserts the invariants). One run:

1. starts a `LocalStack` with the pipeline's quota (``ModelMaxInProgress`` / ``ModelSubmissionsPerSecond``),
   ``PollSchedule 0`` + ``PollHoldSeconds`` (a finished task is seen within 0.1 s), the composer with
   ``task_seconds`` and the same submission rate, and Finalize wrapped by `FinalizeCrash` (``bench/finalize_crash.py``);
2. runs one job alone (a backlog of 1, no faults) for the per-poster baseline;
3. turns the faults on (429 / 5xx on submit, FAILED tasks, partial results on n=2 jobs), uploads
   ``jobs`` images within seconds (plus a few corrupt ones), re-delivers ~10 % of the S3 notifications,
   and waits until every upload has an outcome;
4. reads the composer's stats, the executions and their histories, and the seam's invocation counts.

The composer's own in-progress cap is set ``provider_headroom`` above the pipeline's limit, so an
overrun would show in ``max_in_progress_observed`` instead of being queued silently by the composer.

    python bench/burst.py [--jobs 300] [--task-seconds 2] [--provider-headroom 2]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script (``make burst``): this checkout's packages
    sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]

from bench.finalize_crash import FinalizeCrash  # noqa: E402
from local_stack.stack import LocalStack  # noqa: E402

if TYPE_CHECKING:
    from collections import Counter

__all__ = ["BurstConfig", "BurstReport", "run_burst"]


@dataclass(frozen=True)
class BurstConfig:
    """One burst run (defaults: the ``make burst`` scenario)."""

    jobs: int = 300
    corrupt: int = 4
    task_seconds: float = 2.0
    max_in_progress: int = 1
    submissions_per_second: float = 2.0
    provider_headroom: int = 2
    submit_429_rate: float = 0.10
    submit_5xx_rate: float = 0.05
    task_failed_rate: float = 0.02
    partial_share: float = 0.2  # jobs with n=2 ...
    partial_rate: float = 0.1  # ... of which this share loses one image: ~2 % of all jobs
    duplicate_rate: float = 0.10
    finalize_crashes: int = 1
    poll_hold_seconds: float = 5.0
    schedule_seconds: float = 10.0
    seed: int = 7
    timeout_seconds: float = 3600.0


@dataclass
class _Upload:
    stem: str
    key: str
    at: float
    corrupt: bool = False


@dataclass
class BurstReport:
    config: dict[str, Any]
    uploads: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    lost: int = 0
    duplicates: int = 0
    duplicate_notifications: int = 0
    max_in_progress_observed: int = 0
    provider_in_progress_cap: int = 0
    max_submissions_in_1s: int = 0
    max_accepted_in_1s: int = 0
    submissions: dict[str, Any] = field(default_factory=dict)
    utilisation: float = 0.0
    backlog_window_seconds: float = 0.0
    busy_seconds_in_window: float = 0.0
    baseline: dict[str, float] = field(default_factory=dict)
    burst: dict[str, float] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    latency: dict[str, float] = field(default_factory=dict)
    finalize_crash: dict[str, Any] = field(default_factory=dict)
    invocations: dict[str, int] = field(default_factory=dict)
    wall_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _image(rng: random.Random) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(300), rng.randrange(220)
        draw.ellipse((x, y, x + 40, y + 30), fill=tuple(rng.randrange(256) for _ in range(3)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _notification(stack: LocalStack, key: str) -> str:
    head = stack.client("s3").head_object(Bucket=stack.input_bucket, Key=key)
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "bucket": {"name": stack.input_bucket},
            "object": {"key": key, "eTag": head["ETag"].strip('"'), "versionId": head.get("VersionId"), "size": 1},
        },
    }
    return json.dumps({"Records": [record]})


def _transitions(stack: LocalStack, arn: str) -> int:
    return sum(1 for event in stack.history(arn) if event["type"].endswith("StateEntered"))


def _union_in(intervals: list[tuple[float, float]], start: float, end: float) -> float:
    total, cursor = 0.0, start
    for a, b in sorted(intervals):
        a, b = max(a, cursor), min(b, end)
        if b > a:
            total += b - a
            cursor = b
    return total


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _running(stack: LocalStack) -> list[str]:
    """Names of the running executions (one cheap call: ``stack.executions()`` describes each one)."""
    sfn = stack.client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=stack.state_machine_arn, statusFilter="RUNNING"
    )
    return [e["name"] for page in pages for e in page["executions"]]


def _wait_all(stack: LocalStack, uploads: list[_Upload], timeout: float, progress: Any) -> dict[str, str]:
    """Wait until nothing runs or is parked and every upload has an outcome (cheap checks first: the
    measurement must not load the single process the pipeline runs in)."""
    stems = {u.stem for u in uploads}
    deadline = time.monotonic() + timeout
    next_report = time.monotonic() + 30
    while True:
        time.sleep(2.0)
        idle = not _running(stack) and not _parked(stack)
        if progress and time.monotonic() >= next_report:
            next_report = time.monotonic() + 30
            progress(f"  {len(stack.outcomes(stems))}/{len(stems)} outcomes")
        if idle or time.monotonic() > deadline:
            outcomes = stack.outcomes(stems)
            dlq = stack.queue_depth(stack.dlq_url) if stack.dlq_url else 0
            if len(outcomes) + dlq >= len(stems) or time.monotonic() > deadline:
                return outcomes


def _parked(stack: LocalStack) -> int:
    table = stack.environment.get("SLOT_TABLE", "")
    response = stack.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "parked"}},
        Select="COUNT",
        ConsistentRead=True,
    )
    return int(response["Count"])


def run_burst(config: BurstConfig, progress: Any = None) -> BurstReport:
    """Run the scenario (see the module docstring) and measure it."""
    rng = random.Random(config.seed)
    report = BurstReport(config=asdict(config))
    parameters = {  # the composer's local server stands in for DashScope, with its quota and faults
        "Engine": "dashscope",
        "ModelName": "wanx-ast",
        "PollSchedule": "0",
        "PollHoldSeconds": str(config.poll_hold_seconds),
        "MaxWaitSeconds": str(int(max(60, config.task_seconds * 20))),
        "ModelMaxInProgress": str(config.max_in_progress),
        "ModelSubmissionsPerSecond": str(config.submissions_per_second),
    }
    composer = {
        "max_in_progress": config.max_in_progress + config.provider_headroom,
        "submissions_per_second": config.submissions_per_second,
        "task_seconds": config.task_seconds,
        "seed": config.seed,
    }
    crash = FinalizeCrash(crashes=config.finalize_crashes)
    started = time.monotonic()
    with (
        crash.installed(),
        LocalStack(
            parameters=parameters,
            composer_config=composer,
            environment={"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"},
            handlers={"FinalizeFunction": crash},
            schedule_seconds=config.schedule_seconds,
        ) as stack,
    ):
        _run(stack, config, rng, crash, report, progress)
    report.wall_seconds = round(time.monotonic() - started, 1)
    return report


def _run(
    stack: LocalStack,
    config: BurstConfig,
    rng: random.Random,
    crash: FinalizeCrash,
    report: BurstReport,
    progress: Any,
) -> None:
    _measure_baseline(stack, rng, report)
    uploads, outcomes, burst_counts = _burst(stack, config, rng, report, progress)
    stats = stack.composer_stats()
    _count_outcomes(stack, config, report, uploads, outcomes, stats)
    intervals = _measure_utilisation(report, stats)
    _measure_cost_and_latency(stack, config, report, uploads, burst_counts, intervals)
    _check_finalize_crash(stack, crash, report, outcomes)


def _upload(stack: LocalStack, upload: _Upload, body: bytes, metadata: dict[str, str]) -> None:
    stack.upload(body, upload.key, metadata)
    upload.at = time.time()


def _measure_baseline(stack: LocalStack, rng: random.Random, report: BurstReport) -> None:
    """One job, backlog of 1, no faults: the per-poster figures the burst is compared with."""
    base = _Upload("base-0", "incoming/base-0.jpg", 0.0)
    counts_before = stack.seam.counts()
    _upload(stack, base, _image(rng), {"poster-title": "Baseline"})
    _wait_all(stack, [base], 120, None)
    time.sleep(1.5)  # let the Submit batch and the release finish before counting
    base_counts = stack.seam.counts() - counts_before
    base_exec = next(e for e in stack.executions() if e.stem == "base-0")
    report.baseline = {
        "lambda_invocations_per_poster": float(sum(base_counts.values())),
        "state_transitions_per_poster": float(_transitions(stack, base_exec.arn)),
    }


def _burst(
    stack: LocalStack, config: BurstConfig, rng: random.Random, report: BurstReport, progress: Any
) -> tuple[list[_Upload], dict[str, str], Counter[str]]:
    """Faults on, every upload at once, some notifications re-delivered; wait for every outcome.

    Returns the uploads, their outcomes and the Lambda invocations they cost.
    """
    stack.reset_composer()
    stack.set_composer_config(
        {
            "submit_429_rate": config.submit_429_rate,
            "submit_5xx_rate": config.submit_5xx_rate,
            "task_failed_rate": config.task_failed_rate,
            "partial_rate": config.partial_rate,
        }
    )
    counts_before = stack.seam.counts()
    uploads = [_Upload(f"burst-{i:04d}", f"incoming/burst-{i:04d}.jpg", 0.0) for i in range(config.jobs)]
    uploads += [
        _Upload(f"burst-bad-{i}", f"incoming/burst-bad-{i}.jpg", 0.0, corrupt=True) for i in range(config.corrupt)
    ]
    rng.shuffle(uploads)
    bodies = {u.stem: b"not an image at all " * 20 if u.corrupt else _image(rng) for u in uploads}
    metadata = {
        u.stem: {
            "poster-title": f"Burst {u.stem}",
            **({"poster-n": "2"} if rng.random() < config.partial_share else {}),
        }
        for u in uploads
    }
    if progress:
        progress(f"uploading {len(uploads)} images ...")
    burst_started = time.time()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda u: _upload(stack, u, bodies[u.stem], metadata[u.stem]), uploads))
    upload_seconds = time.time() - burst_started
    duplicated = [u for u in uploads if rng.random() < config.duplicate_rate]
    for u in duplicated:
        stack.client("sqs").send_message(QueueUrl=stack.queue_url, MessageBody=_notification(stack, u.key))
    report.duplicate_notifications = len(duplicated)
    if progress:
        progress(f"uploaded in {upload_seconds:.1f} s; {len(duplicated)} notifications re-delivered; waiting ...")
    outcomes = _wait_all(stack, uploads, config.timeout_seconds, progress)
    time.sleep(1.5)
    return uploads, outcomes, stack.seam.counts() - counts_before


def _count_outcomes(
    stack: LocalStack,
    config: BurstConfig,
    report: BurstReport,
    uploads: list[_Upload],
    outcomes: dict[str, str],
    stats: dict[str, Any],
) -> None:
    """Every upload is a poster, a failure record or a DLQ message; the composer's counts of submissions."""
    dlq = stack.queue_depth(stack.dlq_url) if stack.dlq_url else 0
    report.uploads = len(uploads)
    report.outcomes = {
        "posters": sum(1 for kind in outcomes.values() if kind == "POSTER"),
        "failure_records": sum(1 for kind in outcomes.values() if kind == "FAILURE"),
        "dlq_messages": dlq,
    }
    report.lost = report.uploads - sum(report.outcomes.values())
    report.duplicates = sum(max(0, s["accepted"] - 1) for s in stats["submissions_by_input"])
    report.max_in_progress_observed = int(stats["max_in_progress_observed"])
    report.provider_in_progress_cap = config.max_in_progress + config.provider_headroom
    report.max_submissions_in_1s = int(stats["max_submissions_in_1s"])
    report.max_accepted_in_1s = int(stats["max_accepted_in_1s"])
    report.submissions = stats["submissions"]


def _measure_utilisation(report: BurstReport, stats: dict[str, Any]) -> list[tuple[float, float]]:
    """Provider utilisation while jobs were parked: from the first task's start to the last task's start.

    Returns the provider's busy intervals.
    """
    now = time.time()
    intervals = [(float(a), float(b if b is not None else now)) for a, b in stats["busy_intervals"]]
    if len(intervals) >= 2:
        window_start = min(a for a, _ in intervals)
        window_end = max(a for a, _ in intervals)
        busy = _union_in(intervals, window_start, window_end)
        report.backlog_window_seconds = round(window_end - window_start, 2)
        report.busy_seconds_in_window = round(busy, 2)
        report.utilisation = round(busy / (window_end - window_start), 4) if window_end > window_start else 0.0
    return intervals


def _measure_cost_and_latency(
    stack: LocalStack,
    config: BurstConfig,
    report: BurstReport,
    uploads: list[_Upload],
    burst_counts: Counter[str],
    intervals: list[tuple[float, float]],
) -> None:
    """Per-poster Lambda invocations and state transitions against the baseline; end-to-end latency."""
    stems = {u.stem for u in uploads}
    executions = [e for e in stack.executions() if e.stem in stems]
    succeeded = [e for e in executions if e.status == "SUCCEEDED"]
    transitions = [_transitions(stack, e.arn) for e in succeeded]
    report.burst = {
        "lambda_invocations_per_poster": round(sum(burst_counts.values()) / max(1, config.jobs), 3),
        "state_transitions_per_poster": round(statistics.mean(transitions), 3) if transitions else float("nan"),
    }
    report.ratios = {
        key: round(report.burst[key] / report.baseline[key], 3) if report.baseline.get(key) else float("nan")
        for key in report.burst
    }
    report.invocations = dict(burst_counts)
    at = {u.stem: u.at for u in uploads}
    overheads: list[float] = []
    raw: list[float] = []
    for execution in succeeded:
        stem = execution.stem or ""
        done = execution.stop_date.timestamp()
        raw.append(done - at[stem])
        overheads.append(done - at[stem] - _union_in(intervals, at[stem], done))
    report.latency = {
        "p50_seconds": round(_percentile(raw, 50), 2),
        "p95_seconds": round(_percentile(raw, 95), 2),
        "p50_minus_provider_seconds": round(_percentile(overheads, 50), 2),
        "p95_minus_provider_seconds": round(_percentile(overheads, 95), 2),
    }


def _check_finalize_crash(
    stack: LocalStack, crash: FinalizeCrash, report: BurstReport, outcomes: dict[str, str]
) -> None:
    """The crashed Finalize was retried to a complete result: every copied object is there."""
    s3 = stack.client("s3")
    for stem in crash.crashed_stems:
        manifest = json.loads(
            s3.get_object(Bucket=stack.output_bucket, Key=f"posters/{stem}/manifest.json")["Body"].read()
        )
        keys = [r["key"] for r in manifest["results"] if r["status"] == "COPIED"]
        present = [k for k in keys if s3.head_object(Bucket=stack.output_bucket, Key=k)]
        report.finalize_crash = {
            "stem": stem,
            "outcome": outcomes.get(stem),
            "results_copied": len(keys),
            "objects_present": len(present),
            "finalize_invocations": sum(1 for name, _ in stack.seam.invocations if "FinalizeFunction" in name),
        }


def _per_poster(report: BurstReport, key: str) -> str:
    alone, burst, ratio = report.baseline[key], report.burst[key], report.ratios[key]
    return f"{alone:.2f} alone → {burst:.2f} in burst (ratio {ratio:.2f})"


def table(report: BurstReport) -> str:
    config = report.config
    outcomes = report.outcomes
    limit, rate = config["max_in_progress"], config["submissions_per_second"]
    rows = [
        ("uploads (distinct)", f"{report.uploads} ({config['jobs']} images + {config['corrupt']} corrupt)"),
        ("duplicated S3 notifications", str(report.duplicate_notifications)),
        (
            "posters / failure records / DLQ",
            f"{outcomes['posters']} / {outcomes['failure_records']} / {outcomes['dlq_messages']}",
        ),
        ("lost (uploads - outcomes)", str(report.lost)),
        ("duplicate submissions (composer)", str(report.duplicates)),
        (
            "max tasks in progress (limit)",
            f"{report.max_in_progress_observed} ({limit}; the composer would allow {report.provider_in_progress_cap})",
        ),
        (
            "max submissions in any 1 s (limit)",
            f"{report.max_submissions_in_1s} tried / {report.max_accepted_in_1s} accepted ({rate:g})",
        ),
        ("submissions", json.dumps(report.submissions)),
        (
            "provider utilisation, backlog non-empty",
            f"{report.utilisation:.1%} ({report.busy_seconds_in_window} s busy of {report.backlog_window_seconds} s)",
        ),
        ("Lambda invocations / poster", _per_poster(report, "lambda_invocations_per_poster")),
        ("state transitions / poster", _per_poster(report, "state_transitions_per_poster")),
        ("e2e latency p50 / p95", f"{report.latency['p50_seconds']} s / {report.latency['p95_seconds']} s"),
        (
            "e2e latency minus provider time p50 / p95",
            f"{report.latency['p50_minus_provider_seconds']} s / {report.latency['p95_minus_provider_seconds']} s",
        ),
        ("Finalize crash after first object", json.dumps(report.finalize_crash)),
        ("invocations by function", json.dumps(report.invocations)),
        ("wall time", f"{report.wall_seconds} s"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main() -> int:
    # moto logs every `IsPresent` probe of a missing path (CheckStatus's guards) as an error.
    logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--task-seconds", type=float, default=2.0)
    parser.add_argument("--provider-headroom", type=int, default=2, help="composer cap above the pipeline's limit")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "burst.json")
    args = parser.parse_args()
    config = BurstConfig(jobs=args.jobs, task_seconds=args.task_seconds, provider_headroom=args.provider_headroom)
    report = run_burst(config, progress=lambda line: print(line, flush=True))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    print()
    print(table(report))
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
