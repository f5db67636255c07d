"""Fixtures for the local_stack tests: a moto server with the seam's configuration, the fixture template."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from local_stack.moto_server import MotoServer, aws_environment

if TYPE_CHECKING:
    from collections.abc import Iterator

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
FIXTURE_TEMPLATE = FIXTURES / "template.yaml"
COMPOSER_STUB = [sys.executable, str(HERE / "fixtures" / "composer_stub.py")]


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoServer]:
    """A moto server for one test module, with dummy credentials and ``AWS_ENDPOINT_URL`` set."""
    with pytest.MonkeyPatch.context() as patch, MotoServer() as server:
        for key, value in aws_environment(server.endpoint).items():
            patch.setenv(key, value)
        yield server
