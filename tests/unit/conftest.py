"""Unit tests: domain code and handlers with fakes; no sockets at all."""

from __future__ import annotations

import pytest
import pytest_socket


@pytest.fixture(autouse=True)
def _no_network() -> object:
    pytest_socket.disable_socket()
    yield
    pytest_socket.enable_socket()
