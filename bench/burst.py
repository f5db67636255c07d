"""``make burst``: hundreds of uploads at once, with faults, through the pipeline on the local stack.

Prints a table and writes ``out/burst.json``; asserts nothing (``tests/burst/test_burst.py`` asserts the
invariants on a smaller run). The scenario and its measurements live in ``local_stack/burst.py``.

    python bench/burst.py [--jobs 300] [--task-seconds 2] [--provider-headroom 2]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]

from local_stack.burst import BurstConfig, BurstReport, run_burst  # noqa: E402


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
