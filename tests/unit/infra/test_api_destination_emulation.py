"""The local stack's API destination emulation (local_stack/api_destinations.py), against fakes: what it reads from
the template, and how it delivers, retries and dead-letters as EventBridge does (end to end: tests/e2e/*webhook*)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from typing import Any

import pytest
import requests

from local_stack.api_destinations import (
    ApiDestinationEmulator,
    ApiDestinationOptions,
    RetryPolicy,
    api_destination_routes,
    resolve_dynamic_reference,
    select_input_path,
)
from local_stack.errors import LocalStackError
from local_stack.resources import CreatedResources
from local_stack.template import Template
from tests.unit.domain.fakes import FakeResponse
from tests.unit.infra.cfn_yaml import REPO

URL = "https://hooks.example.com/poster"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:poster-local-WebhookSigningSecret"
DESTINATION_ARN = "arn:aws:events:us-east-1:123456789012:api-destination/poster-local-WebhookDestination/d1"
RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/poster-local-WebhookRule"
DETAIL = {"job_id": "j1", "source_key": "incoming/a.jpg", "outcome": "SUCCEEDED", "output_keys": ["posters/a/0.png"]}
FAST = RetryPolicy(
    maximum_event_age_seconds=30, maximum_retry_attempts=2, base_delay_seconds=0.01, max_delay_seconds=0.02
)


def _event(detail: dict[str, Any] = DETAIL, event_id: str = "e1") -> dict[str, Any]:
    return {"id": event_id, "source": "poster-pipeline", "detail-type": "Poster job finished", "detail": detail}


@pytest.fixture(scope="module")
def template() -> Template:
    return Template(REPO / "template.yaml", {"CompletionWebhookUrl": URL}, stack_name="poster-local")


# ------------------------------------------------------------------ what is read from the template


def test_the_webhook_rule_is_the_one_route(template: Template) -> None:
    (route,) = api_destination_routes(template)

    assert route.rule_logical_id == "WebhookRule"
    assert route.event_bus == "default"
    assert route.event_pattern == {"source": ["poster-pipeline"], "detail-type": ["Poster job finished"]}
    assert (route.endpoint, route.http_method, route.rate_limit_per_second) == (URL, "POST", 10.0)
    assert route.api_key_header == "X-Poster-Webhook-Key"
    assert route.api_key_value == f"{{{{resolve:secretsmanager:{SECRET_ARN}:SecretString}}}}"
    assert route.input_path == "$.detail"
    assert (route.retry.maximum_event_age_seconds, route.retry.maximum_retry_attempts) == (86400, 185)
    assert (route.dead_letter_queue_logical_id, route.role_logical_id) == ("WebhookDLQ", "WebhookRuleRole")


def test_no_route_without_a_webhook_url() -> None:
    assert api_destination_routes(Template(REPO / "template.yaml", stack_name="poster-local")) == []


def test_dynamic_references_resolve_as_cloudformation_does() -> None:
    asked: list[str] = []

    def get(secret_id: str) -> str:
        asked.append(secret_id)
        return '{"key": "v"}'

    assert resolve_dynamic_reference(f"{{{{resolve:secretsmanager:{SECRET_ARN}:SecretString}}}}", get) == '{"key": "v"}'
    assert resolve_dynamic_reference("{{resolve:secretsmanager:name:SecretString:key}}", get) == "v"
    assert asked == [SECRET_ARN, "name"]
    with pytest.raises(LocalStackError, match="SecretString"):
        resolve_dynamic_reference("{{resolve:secretsmanager:name:SecretBinary}}", get)


def test_input_path_selects_the_detail() -> None:
    assert select_input_path(_event(), "$.detail") == DETAIL
    assert select_input_path(_event(), None) == _event()
    assert select_input_path(_event(), "$.detail.job_id") == "j1"


def test_backoff_is_exponential_with_full_jitter() -> None:
    policy = RetryPolicy(base_delay_seconds=1, max_delay_seconds=5)
    for retry, ceiling in ((1, 1), (2, 2), (3, 4), (4, 5), (10, 5)):
        assert all(0 <= policy.delay(retry) <= ceiling for _ in range(50))


# ------------------------------------------------------------------ delivery, against fakes


class _Sqs:
    def __init__(self) -> None:
        self.tap: list[dict[str, Any]] = []
        self.dead_letters: list[dict[str, Any]] = []

    def create_queue(self, QueueName: str) -> dict[str, str]:
        return {"QueueUrl": f"https://sqs/{QueueName}"}

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
        return {"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:123456789012:" + QueueUrl.rsplit("/", 1)[-1]}}

    def receive_message(self, QueueUrl: str, **_: Any) -> dict[str, Any]:
        messages, self.tap = self.tap, []
        return {"Messages": [{"Body": json.dumps(e), "ReceiptHandle": str(i)} for i, e in enumerate(messages)]}

    def delete_message(self, **_: Any) -> None:
        return

    def send_message(self, QueueUrl: str, MessageBody: str, MessageAttributes: dict[str, Any]) -> None:
        attributes = {name: value["StringValue"] for name, value in MessageAttributes.items()}
        self.dead_letters.append({"url": QueueUrl, "body": json.loads(MessageBody), "attributes": attributes})


class _Events:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def create_connection(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append(("create_connection", kwargs))
        return {"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/poster-local-WebhookConnection/c1"}

    def create_api_destination(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append(("create_api_destination", kwargs))
        return {"ApiDestinationArn": DESTINATION_ARN}

    def put_rule(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append(("put_rule", kwargs))
        return {"RuleArn": RULE_ARN}

    def put_targets(self, **kwargs: Any) -> None:
        self.calls.append(("put_targets", kwargs))


class _Secrets:
    def __init__(self) -> None:
        self.values = {SECRET_ARN: "sk-local-the-api-key-written-into-every-secret"}

    def put_secret_value(self, SecretId: str, SecretString: str) -> None:
        self.values[SecretId] = SecretString

    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        return {"SecretString": self.values[SecretId]}


class _Session:
    def __init__(self) -> None:
        self.clients: dict[str, Any] = {"sqs": _Sqs(), "events": _Events(), "secretsmanager": _Secrets()}

    def client(self, name: str) -> Any:
        return self.clients[name]


class _Http:
    """Answers from a script (a status, or an exception to raise) and records each request."""

    def __init__(self, *script: int | Exception) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> FakeResponse:
        self.requests.append({"method": method, "url": url, "at": time.monotonic(), **kwargs})
        answer = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(answer, Exception):
            raise answer
        return FakeResponse(answer, b"busy" if answer >= 300 else b"")

    def close(self) -> None:
        return


def _emulator(
    template: Template, http: _Http, *, retry: RetryPolicy = FAST, **route_changes: Any
) -> tuple[ApiDestinationEmulator, _Session]:
    session = _Session()
    routes = [dataclasses.replace(route, **route_changes) for route in api_destination_routes(template)]
    resources = CreatedResources(
        queue_urls={"WebhookDLQ": "https://sqs/dlq"}, secret_arns={"WebhookSigningSecret": SECRET_ARN}
    )
    emulator = ApiDestinationEmulator(
        template, resources, routes, session=session, options=ApiDestinationOptions(retry=retry, poll_seconds=0.01)
    )
    emulator._http = http  # type: ignore[assignment]
    return emulator.install(), session


def _run(emulator: ApiDestinationEmulator, session: _Session, *events: dict[str, Any]) -> list[Any]:
    session.clients["sqs"].tap.extend(events)
    with emulator:
        return emulator.wait_for(lambda ds: len(ds) == len(events) and all(d.status != "PENDING" for d in ds), 10)


def test_install_generates_the_key_and_taps_the_rule(template: Template) -> None:
    emulator, session = _emulator(template, _Http(204))

    secret = session.clients["secretsmanager"].values[SECRET_ARN]
    assert secret == emulator.secret_values["WebhookSigningSecret"]
    assert not secret.startswith("sk-local-") and secret.isalnum() and len(secret) >= 32
    calls = dict(session.clients["events"].calls)
    auth = calls["create_connection"]["AuthParameters"]["ApiKeyAuthParameters"]
    assert auth == {"ApiKeyName": "X-Poster-Webhook-Key", "ApiKeyValue": secret}
    assert calls["create_api_destination"]["InvocationEndpoint"] == URL
    assert json.loads(calls["put_rule"]["EventPattern"]) == {
        "source": ["poster-pipeline"],
        "detail-type": ["Poster job finished"],
    }
    (tap,) = calls["put_targets"]["Targets"]
    assert tap["Arn"].endswith("poster-local-WebhookRule-tap")


def test_a_2xx_delivers_the_detail_with_the_key_header(template: Template) -> None:
    http = _Http(204)
    emulator, session = _emulator(template, http)

    (delivery,) = _run(emulator, session, _event())

    assert (delivery.status, delivery.attempts, delivery.status_codes) == ("DELIVERED", 1, [204])
    (request,) = http.requests
    assert (request["method"], request["url"]) == ("POST", URL)
    assert json.loads(request["data"]) == DETAIL
    assert request["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert request["headers"]["X-Poster-Webhook-Key"] == emulator.secret_values["WebhookSigningSecret"]
    assert request["timeout"] == 5.0
    assert session.clients["sqs"].dead_letters == []


@pytest.mark.parametrize("failure", [503, 429, 401, requests.ConnectTimeout("slow"), requests.ConnectionError("down")])
def test_retryable_failures_are_retried_until_delivered(template: Template, failure: int | Exception) -> None:
    http = _Http(failure, failure, 200)
    emulator, session = _emulator(template, http)

    (delivery,) = _run(emulator, session, _event())

    assert (delivery.status, delivery.attempts) == ("DELIVERED", 3)
    assert session.clients["sqs"].dead_letters == []


def test_retries_exhausted_end_in_the_dlq_with_eventbridges_attributes(template: Template) -> None:
    emulator, session = _emulator(template, _Http(503))

    (delivery,) = _run(emulator, session, _event())

    assert (delivery.status, delivery.attempts, delivery.status_codes) == ("DEAD_LETTERED", 3, [503, 503, 503])
    (dead,) = session.clients["sqs"].dead_letters
    assert dead["url"] == "https://sqs/dlq"
    assert dead["body"] == _event()  # the whole event, not the InputPath selection
    assert dead["attributes"] == {
        "RULE_ARN": RULE_ARN,
        "TARGET_ARN": DESTINATION_ARN,
        "ERROR_CODE": "HTTP_503",
        "ERROR_MESSAGE": "busy",
        "RETRY_ATTEMPTS": "2",
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
    }


def test_a_client_error_is_not_retried(template: Template) -> None:
    http = _Http(400)
    emulator, session = _emulator(template, http)

    (delivery,) = _run(emulator, session, _event())

    assert (delivery.status, delivery.attempts, delivery.error_code) == ("DEAD_LETTERED", 1, "HTTP_400")
    (dead,) = session.clients["sqs"].dead_letters
    assert dead["attributes"]["RETRY_ATTEMPTS"] == "0"
    assert "EXHAUSTED_RETRY_CONDITION" not in dead["attributes"]


def test_the_event_age_limit_ends_retries(template: Template) -> None:
    old_fast = RetryPolicy(maximum_event_age_seconds=0.05, maximum_retry_attempts=185, base_delay_seconds=1)
    emulator, session = _emulator(template, _Http(503), retry=old_fast)

    (delivery,) = _run(emulator, session, _event())

    assert delivery.exhausted_retry_condition == "MaximumEventAgeInSeconds"
    assert session.clients["sqs"].dead_letters[0]["attributes"]["EXHAUSTED_RETRY_CONDITION"] == (
        "MaximumEventAgeInSeconds"
    )


def test_a_role_that_may_not_invoke_the_destination_sends_nothing(template: Template) -> None:
    http = _Http(204)
    emulator, session = _emulator(template, http, role_logical_id=None)

    (delivery,) = _run(emulator, session, _event())

    assert (delivery.status, delivery.attempts, delivery.error_code) == ("DEAD_LETTERED", 0, "NO_PERMISSIONS")
    assert http.requests == []


def test_the_rate_limit_spaces_the_requests(template: Template) -> None:
    http = _Http(204)
    emulator, session = _emulator(template, http, rate_limit_per_second=20.0)

    deliveries = _run(emulator, session, *(_event(event_id=f"e{i}") for i in range(4)))

    assert [d.event_id for d in deliveries] == ["e0", "e1", "e2", "e3"]
    starts = [request["at"] for request in http.requests]
    assert all(later - earlier >= 0.045 for earlier, later in itertools.pairwise(starts))


def test_what_cannot_be_emulated_is_refused(template: Template, monkeypatch: pytest.MonkeyPatch) -> None:
    target = template.cfn_resources["WebhookRule"]["Properties"]["Targets"][0]
    monkeypatch.setitem(target, "InputTransformer", {"InputTemplate": "{}"})
    with pytest.raises(LocalStackError, match="InputTransformer"):
        api_destination_routes(template)
