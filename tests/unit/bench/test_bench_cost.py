"""The cost bench's arithmetic: DynamoDB item sizes and units, and pricing with ``bench/prices.json``."""

from __future__ import annotations

import math

import pytest

from bench.bench_cost import GB, item_size, load_prices, price_units, read_units, value_size, write_units


def test_item_size_follows_dynamodb_rules() -> None:
    item = {
        "pk": {"S": "slot"},  # 2 + 4
        "n": {"N": "-12.3400"},  # 1 + (4 significant digits: 2 bytes + 1)
        "ok": {"BOOL": True},  # 2 + 1
        "m": {"M": {"a": {"S": "xy"}}},  # 1 + 3 + (1 + 1 + 2)
        "l": {"L": [{"NULL": True}, {"S": "é"}]},  # 1 + 3 + (1 + 1) + (1 + 2)
    }
    assert item_size(item) == 6 + 4 + 3 + 8 + 9
    assert item_size(None) == 0
    assert value_size({"B": "AAAA"}) == 3  # base64 on the wire


def test_units_round_up_and_double_in_transactions() -> None:
    assert write_units(0, 1024) == 1.0
    assert write_units(1025, 10) == 2.0
    assert write_units(0, 0) == 1.0  # a failed condition or an absent item still costs one unit
    assert write_units(500, 500, transactional=True) == 2.0
    assert read_units(4096, consistent=True) == 1.0
    assert read_units(4097, consistent=True) == 2.0
    assert read_units(100, consistent=False) == 0.5
    assert read_units(100, consistent=True, transactional=True) == 2.0


def test_prices_file_is_dated_and_sourced() -> None:
    document = load_prices()
    assert document["as_of"] == "2026-11-27"
    assert document["region"] == "us-east-1"
    for entry in document["prices"].values():
        assert entry["source"].startswith("aws.amazon.com/")
        assert entry["usd"] >= 0


def test_pricing_arithmetic_uses_published_rates() -> None:
    prices = load_prices()["prices"]
    units = {
        "transitions": 7,
        "lambda_requests": 9,
        "lambda_gb_seconds": 2.0,
        "http_api_requests": 3,
        "dynamodb_write_units": 16,
        "dynamodb_read_units": 8,
        "s3_tier1_requests": 2,
        "s3_tier2_requests": 4,
        "sqs_requests": 6,
        "eventbridge_events": 1,
        "secretsmanager_calls": 1,
        "kms_requests": 1,
        "log_bytes": GB,
        "transfer_out_bytes": GB / 2,
    }
    dollars = price_units(units, prices)
    assert dollars["Step Functions"] == pytest.approx(7 * 0.025 / 1000)
    assert dollars["Lambda"] == pytest.approx(9 * 0.20 / 1e6 + 2.0 * 0.0000133334)
    assert dollars["API Gateway (HTTP API)"] == pytest.approx(3 / 1e6)
    assert dollars["DynamoDB"] == pytest.approx(16 * 0.625 / 1e6 + 8 * 0.125 / 1e6)
    assert dollars["S3 requests"] == pytest.approx(2 * 0.005 / 1000 + 4 * 0.0004 / 1000)
    assert dollars["SQS"] == pytest.approx(6 * 0.40 / 1e6)
    assert dollars["EventBridge"] == pytest.approx(1 / 1e6)
    assert dollars["Secrets Manager"] == pytest.approx(0.05 / 10_000)
    assert dollars["KMS"] == pytest.approx(0.03 / 10_000)
    assert dollars["CloudWatch Logs"] == pytest.approx(0.50)
    assert dollars["Data transfer out"] == pytest.approx(0.045)
    assert math.isclose(sum(price_units({}, prices).values()), 0.0)
