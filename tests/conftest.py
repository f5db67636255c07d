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
