"""End-to-end overhead of a lone job on the local stack: upload → poster, less the provider's own task time.

A `LocalStack` with ``Engine=composer`` (the deployed shape) and the template's default polling; a few warm-up
jobs first, so the pipeline has learnt the composer's task durations (`poster_common.durations`), then lone jobs
one after another. For each: the wall time from the upload to the manifest, the task's time at the provider
(``end_time - submit_time`` from the manifest's timings), and the difference: the pipeline's overhead (S3 → SQS
notification, Submit, the quota gate, Step Functions' Wait/Poll/Choice, ReleaseSlot, Finalize's copy). Prints
p50 and p95; asserts nothing.

Usage: ``python bench/bench_overhead.py [--jobs 10] [--warmup 6]``
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

from local_stack.stack import LocalStack

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "events" / "samples" / "backgrounds" / "rocket.jpg"
_PROVIDER_TIME = "%Y-%m-%d %H:%M:%S.%f"


def run_job(stack: LocalStack, stem: str) -> tuple[float, float]:
    """(wall seconds upload → manifest, provider seconds) of one job."""
    started = time.monotonic()
    stack.upload(PHOTO, f"incoming/{stem}.jpg", {"poster-title": "Launch night"})
    outcome = stack.wait_for_outcome(stem, timeout=120, interval=0.02)
    wall = time.monotonic() - started
    if outcome.status != "SUCCEEDED" or outcome.manifest is None:
        raise RuntimeError(f"{stem}: {outcome.status} {outcome.failure}")
    timings = outcome.manifest["timings"]
    submit = datetime.strptime(timings["task_submit_time"], _PROVIDER_TIME)
    end = datetime.strptime(timings["task_end_time"], _PROVIDER_TIME)
    return wall, (end - submit).total_seconds()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=6)
    args = parser.parse_args()
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    quiet = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}
    with LocalStack(parameters={"ComposerMaxInProgress": "2"}, environment=quiet) as stack:
        for i in range(args.warmup):
            run_job(stack, f"warmup-{i}")
        runs = [run_job(stack, f"lone-{i}") for i in range(args.jobs)]
    overheads = sorted(wall - task for wall, task in runs)
    walls = sorted(wall for wall, _ in runs)
    tasks = sorted(task for _, task in runs)
    p95 = min(len(runs) - 1, int(0.95 * len(runs)))
    print("| figure | p50 | p95 |\n|---|---|---|")
    print(f"| upload → poster | {statistics.median(walls):.2f} s | {walls[p95]:.2f} s |")
    print(f"| provider task time | {statistics.median(tasks):.2f} s | {tasks[p95]:.2f} s |")
    print(f"| overhead (the difference) | {statistics.median(overheads):.2f} s | {overheads[p95]:.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
