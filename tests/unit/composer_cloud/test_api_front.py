"""The deployed composer's front: HTTP API events in and out, the key from Secrets Manager, the API wired
to the cloud backend (`ComposerApp(..., tasks=CloudTasks(...), control=False)`) and the two handlers, on
moto's in-process ``mock_aws`` (no sockets)."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from poster_composer.api import CREATE_PATH, MAX_REQUEST_BYTES, ComposerApp, HttpRequest, HttpResponse
from poster_composer.cloud.http_api import request_from_event, response_event
from poster_composer.cloud.service import SecretApiKey, cloud_config
from poster_composer.cloud.settings import CloudSettings
from poster_composer.errors import RequestTooLargeError
from tests.unit.composer_cloud.conftest import INPUT, OUTPUT, REGION, RESULTS, TABLE, Clock, synthesis

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.unit.composer_cloud.conftest import Cloud

KEY = "sk-unit-0123456789abcdef"
BACKGROUND = f"https://{INPUT}.s3.{REGION}.amazonaws.com/incoming/a.jpg?X-Amz-Signature=sig"


def event(
    method: str = "GET",
    path: str = "/api/v1/tasks/x",
    *,
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    encoded: bool = False,
    query: str = "",
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event as AWS sends it."""
    text = body
    if isinstance(body, bytes):
        text = base64.b64encode(body).decode() if encoded else body.decode()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers or {},
        "requestContext": {
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "http": {"method": method, "path": path},
            "requestId": "r-1",
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


# ---------------------------------------------------------------- http_api


def test_request_from_event_reads_method_path_query_headers_and_origin() -> None:
    request = request_from_event(
        event(
            "post",
            CREATE_PATH,
            headers={"Authorization": "Bearer k", "X-DashScope-Async": "enable", "Content-Type": "application/json"},
            body='{"a": "海报"}',
            query="x=1&y=2",
        )
    )
    assert (request.method, request.path, request.query) == ("POST", CREATE_PATH, "x=1&y=2")
    # header names arrive in any case and are lower-cased (API Gateway lower-cases them already)
    assert request.headers == {
        "authorization": "Bearer k",
        "x-dashscope-async": "enable",
        "content-type": "application/json",
    }
    assert request.body == '{"a": "海报"}'.encode()
    assert request.origin == "https://abc123.execute-api.us-east-1.amazonaws.com"


def test_a_base64_body_is_decoded() -> None:
    raw = b"\x89PNG\r\n\x1a\n\xff\xfe binary"
    assert request_from_event(event("POST", CREATE_PATH, body=raw, encoded=True)).body == raw


def test_a_missing_body_and_context_give_an_empty_get() -> None:
    request = request_from_event({"rawPath": "/api/v1/tasks/t", "headers": {"Host": "h.example"}})
    assert (request.method, request.body, request.origin) == ("GET", b"", "https://h.example")


@pytest.mark.parametrize("encoded", [False, True], ids=["text", "base64"])
def test_a_body_over_1_mb_is_refused_with_413(encoded: bool) -> None:
    # GIVEN a body one byte over the API's cap (plain or base64: the decoded size counts)
    raw = b"x" * (MAX_REQUEST_BYTES + 1)
    # WHEN / THEN it is refused before anything parses it
    with pytest.raises(RequestTooLargeError) as raised:
        request_from_event(event("POST", CREATE_PATH, body=raw, encoded=encoded))
    assert (raised.value.status, raised.value.code) == (413, "RequestEntityTooLarge")
    # ... and exactly 1 MB is fine
    assert len(request_from_event(event("POST", CREATE_PATH, body=raw[:-1], encoded=encoded)).body) == MAX_REQUEST_BYTES


def test_response_event_is_a_plain_text_http_api_response() -> None:
    response = HttpResponse(201, {"Content-Type": "application/json"}, '{"ok": "好"}'.encode())
    assert response_event(response) == {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json"},
        "body": '{"ok": "好"}',
        "isBase64Encoded": False,
    }
    streamed = HttpResponse(200, {}, stream=iter([b"a", b"b"]), content_length=2)
    assert response_event(streamed)["body"] == "ab"


# ---------------------------------------------------------------- SecretApiKey


class FakeSecrets:
    def __init__(self, value: str) -> None:
        self.value = value
        self.reads = 0

    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        self.reads += 1
        return {"SecretString": self.value}


@pytest.mark.parametrize(
    "stored", [KEY, f"  {KEY}\n", json.dumps({"api_key": KEY}), json.dumps({"api_key": f" {KEY} ", "other": 1})]
)
def test_the_key_is_read_from_a_plain_or_json_secret(stored: str) -> None:
    assert SecretApiKey(FakeSecrets(stored), "s", 300, Clock())() == KEY


def test_the_key_is_cached_for_max_age_then_read_again() -> None:
    # GIVEN a secret read once
    secrets, clock = FakeSecrets(KEY), Clock(0.0)
    key = SecretApiKey(secrets, "s", 300, clock)
    assert key() == KEY
    # WHEN it is rotated, the cached value serves until max age ...
    secrets.value = "sk-rotated"
    clock.now = 300
    assert (key(), secrets.reads) == (KEY, 1)
    # ... and is read again after it
    clock.now = 301
    assert (key(), secrets.reads) == ("sk-rotated", 2)


def test_the_key_is_read_from_secrets_manager(cloud: Cloud) -> None:
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name="poster-pipeline/dashscope-api-key", SecretString=json.dumps({"api_key": KEY}))
    assert SecretApiKey(client, "poster-pipeline/dashscope-api-key", 300, Clock())() == KEY


# ---------------------------------------------------------------- the API on the cloud backend


SETTINGS = CloudSettings(
    task_table=TABLE,
    render_queue_url="",
    result_bucket=RESULTS,
    source_buckets=frozenset({INPUT, OUTPUT}),
    api_key_secret="s",
    region=REGION,
)


class NeverFetch:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, url: str, field: str, limits: Any) -> bytes:
        self.calls.append(url)
        raise AssertionError("the API never downloads")


@pytest.fixture
def api(cloud: Cloud) -> Iterator[tuple[ComposerApp, Cloud]]:
    from poster_composer.cloud.service import source_policy

    app = ComposerApp(
        cloud_config(SETTINGS),
        fetcher=NeverFetch(),
        tasks=cloud.tasks,
        api_key=SecretApiKey(FakeSecrets(KEY), "s", 300, Clock()),
        check_source=source_policy(SETTINGS).check,
        control=False,
    )
    yield app, cloud


def create_body(image_url: str = BACKGROUND, **extra: Any) -> bytes:
    data: dict[str, Any] = {"image_url": image_url, "title": ["Spring Sale"], **extra}
    return json.dumps({"model": "wanx-ast", "input": data, "parameters": {"n": 2}}).encode()


GOOD = {"authorization": f"Bearer {KEY}", "x-dashscope-async": "enable", "content-type": "application/json"}


def call(app: ComposerApp, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, Any]:
    response = app.handle(HttpRequest(method, path, headers=headers, body=body, origin="https://api.example"))
    return response.status, json.loads(response.body)


def assert_dashscope_error(payload: Any, code: str) -> None:
    assert set(payload) == {"request_id", "code", "message"}
    assert payload["code"] == code and payload["request_id"] and payload["message"]


def test_create_then_query_through_the_cloud_backend(api: tuple[ComposerApp, Cloud]) -> None:
    app, cloud = api
    # WHEN a valid task is created with the right key
    status, created = call(app, "POST", CREATE_PATH, GOOD, create_body())
    # THEN it is PENDING, queued, and a query reads it back
    assert status == 200 and created["output"]["task_status"] == "PENDING"
    task_id = created["output"]["task_id"]
    assert [json.loads(body)["task_id"] for body in cloud.queued()] == [task_id]
    status, queried = call(app, "GET", f"/api/v1/tasks/{task_id}", GOOD)
    assert status == 200 and queried["output"]["task_status"] == "PENDING" and queried["request_id"]


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer sk-wrong", f"Basic {KEY}", f"Bearer {KEY}x", f"Bearer {KEY[:-1]}", KEY],
    ids=["missing", "empty", "no key", "wrong key", "other scheme", "longer", "shorter", "no scheme"],
)
def test_a_wrong_or_missing_key_is_401_in_dashscopes_shape_on_every_route(
    api: tuple[ComposerApp, Cloud], authorization: str | None
) -> None:
    app, cloud = api
    headers = {k: v for k, v in GOOD.items() if k != "authorization"}
    if authorization is not None:
        headers["authorization"] = authorization
    for method, path, body in [
        ("POST", CREATE_PATH, create_body()),
        ("GET", "/api/v1/tasks/some-task", b""),
        ("POST", "/api/v1/tasks/some-task/cancel", b""),
    ]:
        status, payload = call(app, method, path, headers, body)
        assert status == 401, (method, path)
        assert_dashscope_error(payload, "InvalidApiKey")
    assert cloud.table.scan()["Items"] == [] and cloud.queued() == []


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2]", b"\xff\xfe", b'"text"', b"null"])
def test_a_malformed_body_is_400(api: tuple[ComposerApp, Cloud], body: bytes) -> None:
    app, cloud = api
    status, payload = call(app, "POST", CREATE_PATH, GOOD, body)
    assert status == 400
    assert_dashscope_error(payload, "InvalidParameter")
    assert cloud.table.scan()["Items"] == []


def test_a_missing_or_wrong_async_header_is_403(api: tuple[ComposerApp, Cloud]) -> None:
    app, cloud = api
    for value in (None, "disable", ""):
        headers = {k: v for k, v in GOOD.items() if k != "x-dashscope-async"}
        if value is not None:
            headers["x-dashscope-async"] = value
        status, payload = call(app, "POST", CREATE_PATH, headers, create_body())
        assert status == 403
        assert_dashscope_error(payload, "AccessDenied")
    assert cloud.table.scan()["Items"] == []


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("image_url", "https://169.254.169.254/latest/meta-data/"),
        ("image_url", f"https://other-bucket.s3.{REGION}.amazonaws.com/a.jpg"),
        ("image_url", f"https://{INPUT}.s3.amazonaws.com.evil.test/a.jpg"),
        ("image_url", "https://localhost:8443/a.jpg"),
        ("logo", "https://evil.test/logo.png"),
        ("logo", f"http://{INPUT}.s3.{REGION}.amazonaws.com/logo.png"),
    ],
)
def test_a_url_off_the_two_buckets_is_refused_at_create(api: tuple[ComposerApp, Cloud], field: str, url: str) -> None:
    app, cloud = api
    extra = {"logo": url} if field == "logo" else {}
    body = create_body(BACKGROUND if field == "logo" else url, **extra)
    status, payload = call(app, "POST", CREATE_PATH, GOOD, body)
    assert status == 400
    assert_dashscope_error(payload, "InvalidParameter")
    assert payload["message"].startswith("Invalid URL")
    assert cloud.table.scan()["Items"] == [] and cloud.queued() == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_composer/config"),
        ("PUT", "/_composer/config"),
        ("GET", "/_composer/stats"),
        ("POST", "/_composer/reset"),
        ("GET", "/_composer/health"),
        ("GET", "/results/t/0.png"),
    ],
)
def test_the_control_api_and_result_route_are_not_deployed(
    api: tuple[ComposerApp, Cloud], method: str, path: str
) -> None:
    app, _ = api
    status, payload = call(app, method, path, GOOD, b'{"rules": []}')
    assert status == 404
    assert_dashscope_error(payload, "NotFound")


def test_an_unknown_task_is_200_unknown_and_listing_is_unsupported(api: tuple[ComposerApp, Cloud]) -> None:
    app, _ = api
    status, payload = call(app, "GET", "/api/v1/tasks/00000000-0000-0000-0000-000000000000", GOOD)
    assert status == 200
    assert payload["output"] == {"task_id": "00000000-0000-0000-0000-000000000000", "task_status": "UNKNOWN"}
    status, payload = call(app, "GET", "/api/v1/tasks", GOOD)
    assert status == 400
    assert_dashscope_error(payload, "UnsupportedOperation")


# ---------------------------------------------------------------- the handlers, wired from the environment


@pytest.fixture
def deployed(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    """The environment the template gives both functions, and a cold start of each handler."""
    from functions.composer_api import app as api_app
    from functions.composer_worker import app as worker_app

    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.create_secret(Name="poster-pipeline/dashscope-api-key", SecretString=KEY)
    for name, value in {
        "COMPOSER_TASK_TABLE": TABLE,
        "COMPOSER_RENDER_QUEUE_URL": cloud.queue_url,
        "COMPOSER_RESULT_BUCKET": RESULTS,
        "COMPOSER_SOURCE_BUCKETS": f"{INPUT},{OUTPUT}",
        "API_KEY_SECRET_NAME": "poster-pipeline/dashscope-api-key",
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    api_app._app.cache_clear()
    worker_app._worker.cache_clear()
    yield cloud
    api_app._app.cache_clear()
    worker_app._worker.cache_clear()


class Context:
    aws_request_id = "lambda-request-1"


def test_the_api_handler_answers_http_api_events(deployed: Cloud) -> None:
    from functions.composer_api.app import lambda_handler

    headers = {"Authorization": f"Bearer {KEY}", "X-DashScope-Async": "enable"}
    # a create with the right key is queued
    created = lambda_handler(event("POST", CREATE_PATH, headers=headers, body=create_body()), Context())  # type: ignore[arg-type]
    assert created["statusCode"] == 200 and created["isBase64Encoded"] is False
    task_id = json.loads(created["body"])["output"]["task_id"]
    assert [json.loads(body)["task_id"] for body in deployed.queued()] == [task_id]
    # a wrong key is 401 in DashScope's shape
    wrong = lambda_handler(event(headers={"Authorization": "Bearer nope"}), Context())  # type: ignore[arg-type]
    assert wrong["statusCode"] == 401
    assert_dashscope_error(json.loads(wrong["body"]), "InvalidApiKey")
    # an oversized body is 413 with the Lambda request id, before the key is even read
    big = lambda_handler(event("POST", CREATE_PATH, body=b"x" * (MAX_REQUEST_BYTES + 10)), Context())  # type: ignore[arg-type]
    assert big["statusCode"] == 413
    payload = json.loads(big["body"])
    assert_dashscope_error(payload, "RequestEntityTooLarge")
    assert payload["request_id"] == "lambda-request-1"


def test_the_worker_handler_renders_one_queued_task(deployed: Cloud) -> None:
    from functions.composer_worker import app as worker_app

    # GIVEN a stored task with a foreign URL (the API refuses those; the worker re-checks and never fetches)
    task = deployed.store.create(synthesis("https://169.254.169.254/latest/meta-data/"))
    # WHEN the worker handler gets its SQS record (and a duplicate)
    record = {"body": json.dumps({"task_id": task.task_id})}
    result = worker_app.lambda_handler({"Records": [record, record]}, Context())  # type: ignore[arg-type]
    # THEN the task ended FAILED once; the duplicate did nothing
    assert result == {"statuses": ["FAILED", None]}
    item = deployed.table.get_item(Key={"task_id": task.task_id})["Item"]
    assert (item["status"], item["code"]) == ("FAILED", "InvalidParameter")


def test_settings_are_read_from_the_templates_variables() -> None:
    settings = CloudSettings.from_env(
        {
            "COMPOSER_TASK_TABLE": "t",
            "COMPOSER_RENDER_QUEUE_URL": "https://sqs/q",
            "COMPOSER_RESULT_BUCKET": "r",
            "COMPOSER_SOURCE_BUCKETS": " in , out ,,",
            "API_KEY_SECRET_NAME": "s",
            "AWS_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL_S3": "https://localhost:1",
        }
    )
    assert settings.source_buckets == frozenset({"in", "out"})
    assert (settings.region, settings.s3_endpoint, settings.models) == (
        "eu-west-1",
        "https://localhost:1",
        ("wanx-ast",),
    )
    with pytest.raises(KeyError):
        CloudSettings.from_env({"COMPOSER_TASK_TABLE": "t"})
