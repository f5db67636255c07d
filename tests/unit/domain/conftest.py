"""Shared fixtures of the domain tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

if TYPE_CHECKING:
    from collections.abc import Iterator

#: A table in the shape the quota gate and the duration log use (hash ``pk``, range ``sk``).
TABLE = "slots"


def create_pk_sk_table(client: Any, name: str = TABLE) -> None:
    """Create ``name`` in the shape of the template's slot and duration tables (hash ``pk``, range ``sk``)."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """moto's DynamoDB client with `TABLE` created."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_pk_sk_table(client)
        yield client
