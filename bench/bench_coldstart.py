"""Cold start: each handler's import time against a bare ``import boto3``, measured in the same run.

Every sample is a fresh interpreter with ``python -X importtime``, as Lambda's init phase imports the handler
module; the samples of the handlers and of the floor are interleaved so that load on the machine hits all of
them alike. The environment is Lambda's (``LAMBDA_TASK_ROOT``) with tracing off, as deployed by default
(``Tracing=PassThrough``), and once more with tracing on for the pipeline's handlers.

Prints the median import time of each, its excess over the boto3 floor and the ratio; asserts nothing.

Usage: ``python bench/bench_coldstart.py [--runs 9]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HANDLERS = ["submit", "poll", "finalize", "record_failure", "slots", "composer_api", "composer_worker"]
FLOOR = "boto3"


def import_ms(module: str, tracing: bool) -> float:
    """Cumulative import time of ``module`` in a fresh interpreter, ms."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("layers/common", "layers/composer", ".")),
        "LAMBDA_TASK_ROOT": str(ROOT),
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true",
        "POWERTOOLS_SERVICE_NAME": "poster-pipeline",
    }
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for line in reversed(done.stderr.splitlines()):
        fields = [part.strip() for part in line.removeprefix("import time:").split("|")]
        if len(fields) == 3 and fields[2] == module:
            return int(fields[1]) / 1000
    raise RuntimeError(f"no import-time line for {module}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    cases = [(FLOOR, False)] + [(f"functions.{name}.app", False) for name in HANDLERS]
    cases += [(f"functions.{name}.app", True) for name in ("submit", "poll", "finalize")]
    samples: dict[tuple[str, bool], list[float]] = {case: [] for case in cases}
    for _ in range(args.runs):
        for case in cases:
            samples[case].append(import_ms(*case))
    floor = statistics.median(samples[(FLOOR, False)])
    print(f"| module | tracing | import p50 | over `import boto3` ({floor:.0f} ms) | ratio |")
    print("|---|---|---|---|---|")
    for (module, tracing), values in samples.items():
        median = statistics.median(values)
        label = "on" if tracing else "off"
        print(f"| `{module}` | {label} | {median:.0f} ms | {median - floor:+.0f} ms | {median / floor:.2f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
