"""Fixtures for the infrastructure tests: the parsed template and state machine definition."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.infra.cfn_yaml import REPO, load_template


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="session")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    resources: dict[str, Any] = template["Resources"]
    return resources


@pytest.fixture(scope="session")
def asl_text() -> str:
    return (REPO / "statemachine" / "poster.asl.json").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def asl(asl_text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(asl_text)
    return loaded
