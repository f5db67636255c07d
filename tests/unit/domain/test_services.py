"""`poster_common.services`: the process-wide `Services` and its one explicit hook, the object store's factory."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from poster_common import services
from poster_common.storage import S3ObjectStore

if TYPE_CHECKING:
    from collections.abc import Iterator


class _MarkedStore(S3ObjectStore):
    pass


@pytest.fixture
def fresh() -> Iterator[None]:
    services.from_environment.cache_clear()
    yield
    services.from_environment.cache_clear()


@pytest.mark.usefixtures("fresh")
def test_the_store_factory_applies_within_its_block_only() -> None:
    # GIVEN the process-wide Services built before the block
    before = services.from_environment()
    assert type(before.store) is S3ObjectStore
    # WHEN a scenario installs a store factory
    with services.store_factory(_MarkedStore):
        # THEN Services is built anew, with the factory's store
        inside = services.from_environment()
        assert type(inside.store) is _MarkedStore
        assert services.from_environment() is inside  # still built once
    # AND after the block the store is the plain one again
    assert type(services.from_environment().store) is S3ObjectStore
