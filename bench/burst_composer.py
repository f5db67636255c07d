"""A burst through the deployed-shape composer service at its own quota, against this machine's render-bound limit.

One run, all figures from the same run (these machines are noisy):

1. **Render-bound limit**: the same poster rendered over and over by one process per core, as fast as the
   machine can (``render_with_composer`` directly: no pipeline, no AWS, no HTTP): posters per minute.
2. **The burst**: a `LocalStack` with ``Engine=composer`` (the composer service as the template defines it:
   HTTP API → API function → DynamoDB task → SQS → render worker → result bucket) and the quota gate at
   ``ComposerMaxInProgress``; ``--jobs`` photos uploaded at once; every upload waited for until it is a poster
   or a failure record. Wall time from the first upload to the last outcome, posters per minute, and that
   against the render-bound limit.

Prints a table, writes ``out/burst-composer.json``; asserts nothing.

Usage: ``python bench/burst_composer.py [--jobs 300] [--max-in-progress 10] [--side 1024]``
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from local_stack.stack import LocalStack
from poster_composer.production import render_with_composer
from poster_composer.validation import SynthesisRequest

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "events" / "samples" / "backgrounds" / "rocket.jpg"
TITLE = "Launch night"


def background(side: int) -> bytes:
    """The sample photo scaled to ``side`` px on its long edge, as a JPEG (what users upload)."""
    with Image.open(PHOTO) as image:
        image = image.convert("RGB")
        image.thumbnail((side, side))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _render_many(data: bytes, count: int) -> int:
    request = SynthesisRequest(model="wanx-ast", image_url="-", title=(TITLE,), subtitle=("Friday 9 pm",))
    for _ in range(count):
        render_with_composer(data, request, None)
    return count


def render_bound_per_minute(data: bytes, seconds: float) -> tuple[float, int]:
    """Posters per minute with every core rendering (one process each), over about ``seconds``."""
    cores = os.cpu_count() or 1
    _render_many(data, 1)  # warm the fonts and caches of this process (the workers warm their own)
    started = time.perf_counter()
    one = _render_many(data, 2) / (time.perf_counter() - started)
    per_worker = max(2, round(one * seconds))
    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(_render_many, [data] * cores, [1] * cores))  # warm-up round
        started = time.perf_counter()
        done = sum(pool.map(_render_many, [data] * cores, [per_worker] * cores))
        elapsed = time.perf_counter() - started
    return done / elapsed * 60, cores


def burst(data: bytes, jobs: int, max_in_progress: int, timeout: float) -> dict[str, float | int]:
    """Upload ``jobs`` copies at once through Engine=composer; the outcome counts and the wall time."""
    parameters = {
        "PollSchedule": "0",
        "PollHoldSeconds": "5",
        "ComposerMaxInProgress": str(max_in_progress),
        "MaxWaitSeconds": str(int(timeout)),
    }
    quiet = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}
    with LocalStack(parameters=parameters, environment=quiet) as stack:
        stems = {f"burst-{i:04d}" for i in range(jobs)}
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda stem: stack.upload(data, f"incoming/{stem}.jpg", {"poster-title": TITLE}), stems))
        uploaded = time.monotonic() - started
        found: dict[str, str] = {}
        while len(found) < jobs and time.monotonic() - started < timeout:
            time.sleep(1.0)
            found = stack.outcomes(stems)
            print(f"\r  {len(found)}/{jobs} finished", end="", file=sys.stderr, flush=True)
        wall = time.monotonic() - started
        print(file=sys.stderr)
        counts = stack.seam.counts()
    posters = sum(1 for kind in found.values() if kind == "POSTER")
    return {
        "jobs": jobs,
        "posters": posters,
        "failure_records": sum(1 for kind in found.values() if kind == "FAILURE"),
        "unfinished": jobs - len(found),
        "upload_seconds": round(uploaded, 1),
        "wall_seconds": round(wall, 1),
        "posters_per_minute": round(posters / wall * 60, 1),
        "worker_invocations": counts["poster-local-ComposerWorkerFunction"],
        "api_invocations": counts["poster-local-composer-api"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument(
        "--max-in-progress", type=int, default=10, help="ComposerMaxInProgress (the template's default)"
    )
    parser.add_argument("--side", type=int, default=1024, help="long edge of the uploaded photo, px")
    parser.add_argument("--limit-seconds", type=float, default=20.0, help="time spent measuring the render limit")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "burst-composer.json")
    args = parser.parse_args()

    data = background(args.side)
    limit, cores = render_bound_per_minute(data, args.limit_seconds)
    print(f"render-bound limit: {limit:.1f} posters/min ({cores} processes rendering)", file=sys.stderr)
    result = burst(data, args.jobs, args.max_in_progress, args.timeout)
    report = {
        **result,
        "side_px": args.side,
        "composer_max_in_progress": args.max_in_progress,
        "cores": cores,
        "render_bound_posters_per_minute": round(limit, 1),
        "share_of_render_bound": round(float(result["posters_per_minute"]) / limit, 3),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print("| figure | value |\n|---|---|")
    for key, value in report.items():
        print(f"| {key.replace('_', ' ')} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
