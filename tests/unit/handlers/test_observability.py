"""The handlers' shared logging/metrics/tracing: the X-Ray SDK is imported only when tracing is on."""

from __future__ import annotations

import subprocess
import sys

import pytest

from poster_common.observability import tracing_enabled
from tests.unit.infra.cfn_yaml import REPO

HANDLERS = ["submit", "poll", "finalize", "record_failure", "slots"]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),  # not in Lambda
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "False"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "1"}, False),
    ],
)
def test_tracing_is_on_only_in_lambda_and_not_switched_off(environ: dict[str, str], expected: bool) -> None:
    assert tracing_enabled(environ) is expected


def _modules_after_import(handler: str, environ: dict[str, str]) -> set[str]:
    code = f"import sys, functions.{handler}.app; print('\\n'.join(sys.modules))"
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{REPO / 'layers' / 'common'}:{REPO}",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env={**env, **environ}, capture_output=True, text=True, check=True, cwd=REPO
    )
    return set(out.stdout.split())


@pytest.mark.parametrize("handler", HANDLERS)
def test_a_cold_start_without_tracing_imports_no_xray_sdk(handler: str) -> None:
    modules = _modules_after_import(handler, {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"})

    assert f"functions.{handler}.app" in modules
    assert not any(name.startswith("aws_xray_sdk") for name in modules)


def test_with_active_tracing_the_handler_is_traced() -> None:
    modules = _modules_after_import("poll", {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"})

    assert "aws_xray_sdk.core" in modules
