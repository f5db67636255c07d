"""Fixtures for every test layer: fake AWS credentials, Powertools settings, event loading."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
EVENTS = REPO / "events"

# Set before any handler or boto3 import: no test can ever reach a real account.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "poster-pipeline",
        "POWERTOOLS_METRICS_NAMESPACE": "PosterPipeline",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_DEV": "false",
    }
)


def load_event(name: str) -> dict[str, Any]:
    """An event from the top-level ``events/`` folder, shared with ``sam local invoke``."""
    event: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return event


def fixture_image(name: str) -> Path:
    """A real photo: the project's copy under ``events/samples`` first, else ``../shared/fixtures``."""
    for folder in (EVENTS / "samples", REPO.parent / "shared" / "fixtures"):
        for sub in ("backgrounds", "logos"):
            candidate = folder / sub / name
            if candidate.exists():
                return candidate
    raise FileNotFoundError(name)


@pytest.fixture
def event_loader() -> Any:
    return load_event


# ``make test`` runs pytest on every core (pytest-xdist, ``-n auto``) and each group below runs whole, in order, in
# one worker.  A unit test file is its own group (its cached fixtures, such as the gallery matrix, are built once).
# ``burst/`` and ``e2e/`` are one group each: ``e2e/`` relies on its serial order (its sub-packages' stacks before its
# shared, package-scoped one: one stack at a time per process), and pytest stops a package's stack when a worker
# leaves the package.  Each ``integration/`` sub-package is a group (its stacks are module-scoped).
WHOLE_FOLDERS = {"burst": 1, "e2e": 1, "integration": 2}


def worker_group(nodeid: str) -> str:
    """The group of a test id (``tests/unit/x/test_y.py::test_z[p]`` -> ``unit/x/test_y.py``).

    Example
    -------
    >>> worker_group("tests/e2e/composer_service/test_api.py::test_a"), worker_group("tests/unit/a/test_b.py::test_c")
    ('e2e', 'unit/a/test_b.py')
    """
    parts = nodeid.split("::", 1)[0].split("/")[1:]
    return "/".join(parts[: WHOLE_FOLDERS.get(parts[0], len(parts))])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Distribute whole groups (``worker_group``), those with the most tests first, each to the next free worker.

    Not ``--dist loadgroup`` with ``xdist_group`` marks: on pytest 9.2 it silently distributes test by test
    (pytest-dev/pytest-xdist#1386: the group suffix it writes into ``item._nodeid`` is no longer read)."""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

    return GroupScheduling(config, log)
