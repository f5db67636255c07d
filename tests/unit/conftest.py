"""Unit tests: domain code and handlers with fakes; no sockets at all."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import pytest_socket

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A local stack started elsewhere in the session points boto3 at its endpoint: not here.
    for name in ("AWS_ENDPOINT_URL", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    pytest_socket.disable_socket()
    yield
    pytest_socket.enable_socket()
