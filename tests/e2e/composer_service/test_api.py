"""The composer service's API through its HTTPS front (the stand-in for ComposerHttpApi), with ``requests``.

DashScope's error shape for every refusal, the 1 MB body cap, UNKNOWN for unknown ids, and the source
policy: an ``image_url`` or ``logo`` off the stack's two buckets is refused at create with
``InvalidParameter`` "Invalid URL …" and never fetched (listeners on the addresses the URLs name count
connections; no task is stored, nothing is queued for the worker).
"""

from __future__ import annotations

import io
import json
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from botocore.config import Config
from PIL import Image

from tests.e2e.composer_service.conftest import LOGO_KEY, composer_names
from tests.hostile import SIGNED, EvilNet, hostile_urls

if TYPE_CHECKING:
    from collections.abc import Iterator

    from local_stack.stack import LocalStack

pytestmark = pytest.mark.e2e

CREATE = "/api/v1/services/aigc/text2image/image-synthesis"
TIMEOUT = (3.05, 30)


class Api:
    """The composer's API as a client sees it: its origin, the key, the certificate to trust."""

    def __init__(self, stack: LocalStack) -> None:
        self.origin = stack.composer_origin
        self.key = stack.api_key
        self.verify = stack.environment["REQUESTS_CA_BUNDLE"]
        self.session = requests.Session()

    def headers(self, key: str | None = "default", **extra: str) -> dict[str, str]:
        headers = {"X-DashScope-Async": "enable", "Content-Type": "application/json", **extra}
        if key is not None:
            headers["Authorization"] = f"Bearer {self.key if key == 'default' else key}"
        return headers

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        return self.session.post(self.origin + path, data=body, headers=headers, verify=self.verify, timeout=TIMEOUT)

    def get(self, path: str, headers: dict[str, str]) -> requests.Response:
        return self.session.get(self.origin + path, headers=headers, verify=self.verify, timeout=TIMEOUT)

    def create(self, image_url: str, logo: str | None = None, **headers: str) -> requests.Response:
        data: dict[str, Any] = {"image_url": image_url, "title": ["API e2e"]}
        if logo is not None:
            data["logo"] = logo
        body = json.dumps({"model": "wanx-ast", "input": data, "parameters": {"n": 1}}).encode()
        return self.post(CREATE, body, self.headers(**headers))


@pytest.fixture(scope="module")
def api(stack: LocalStack) -> Iterator[Api]:
    client = Api(stack)
    yield client
    client.session.close()


def dashscope_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    payload: dict[str, Any] = response.json()
    assert set(payload) == {"request_id", "code", "message"}, payload
    assert payload["code"] == code and payload["request_id"] and payload["message"]
    return payload


def presign(stack: LocalStack, bucket: str, key: str) -> str:
    """A GET presigned by the stack's admin on the S3 endpoint the service sees (moto over HTTPS, path style)."""
    assert stack.iam is not None and stack.iam.admin is not None
    s3 = boto3.session.Session().client(
        "s3",
        endpoint_url=s3_origin(stack),
        region_name="us-east-1",
        aws_access_key_id=stack.iam.admin.access_key,
        aws_secret_access_key=stack.iam.admin.secret_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    url: str = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=600)
    return url


def presigned_logo(stack: LocalStack) -> str:
    return presign(stack, stack.input_bucket, LOGO_KEY)


def s3_origin(stack: LocalStack) -> str:
    return stack.environment["AWS_ENDPOINT_URL_S3"]


# ---------------------------------------------------------------- the happy path, by hand


def test_a_task_created_with_a_presigned_bucket_url_succeeds_and_its_result_url_is_fetchable(
    stack: LocalStack, api: Api
) -> None:
    # GIVEN a background in the input bucket (outside incoming/: no pipeline job) presigned by the stack
    key = f"composer-api/{uuid.uuid4().hex}.png"
    stack.upload(stack.client("s3").get_object(Bucket=stack.input_bucket, Key=LOGO_KEY)["Body"].read(), key)
    url = presign(stack, stack.input_bucket, key)
    # WHEN a task is created with it and polled
    created = api.create(url)
    assert created.status_code == 200, created.text
    task_id = created.json()["output"]["task_id"]
    assert created.json()["output"]["task_status"] == "PENDING"
    deadline = time.monotonic() + 60
    while True:
        output = api.get(f"/api/v1/tasks/{task_id}", api.headers()).json()["output"]
        if output["task_status"] not in ("PENDING", "RUNNING") or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    # THEN it SUCCEEDED, and its result URL is a presigned GET of ComposerResultBucket on the S3 endpoint
    assert output["task_status"] == "SUCCEEDED", output
    result_url = output["results"][0]["url"]
    parts = urlsplit(result_url)
    bucket = composer_names(stack)["result_bucket"]
    assert f"{parts.scheme}://{parts.netloc}" == s3_origin(stack)
    assert parts.path == f"/{bucket}/results/{task_id}/0.png"
    assert "X-Amz-Signature=" in parts.query
    download = requests.get(result_url, verify=api.verify, timeout=TIMEOUT)
    assert download.status_code == 200
    with Image.open(io.BytesIO(download.content)) as poster:
        assert poster.format == "PNG"


# ---------------------------------------------------------------- refusals in DashScope's shape


@pytest.mark.parametrize(
    "key", [None, "sk-wrong-key", "", "default-but-longer"], ids=["missing", "wrong", "empty", "longer"]
)
def test_a_wrong_or_missing_key_is_401_on_create_and_query(api: Api, key: str | None) -> None:
    if key == "default-but-longer":
        key = api.key + "x"
    headers = api.headers(key=key)
    if key == "":
        headers["Authorization"] = ""
    created = api.post(CREATE, b'{"model": "wanx-ast"}', headers)
    dashscope_error(created, 401, "InvalidApiKey")
    queried = api.get(f"/api/v1/tasks/{uuid.uuid4()}", headers)
    dashscope_error(queried, 401, "InvalidApiKey")


def test_a_body_over_1_mb_is_413(api: Api) -> None:
    body = b'{"model": "wanx-ast", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    dashscope_error(api.post(CREATE, body, api.headers()), 413, "RequestEntityTooLarge")


@pytest.mark.parametrize("body", [b"{not json", b"[]", b"\xff\xfe\x00"], ids=["broken", "list", "not utf-8"])
def test_a_malformed_body_is_400(api: Api, body: bytes) -> None:
    dashscope_error(api.post(CREATE, body, api.headers()), 400, "InvalidParameter")


def test_a_create_without_the_async_header_is_403(api: Api) -> None:
    headers = api.headers()
    del headers["X-DashScope-Async"]
    dashscope_error(api.post(CREATE, b"{}", headers), 403, "AccessDenied")


@pytest.mark.parametrize(
    "task_id", [str(uuid.uuid4()), "not-a-task-id", "x" * 3000], ids=["uuid", "word", "3000 chars"]
)
def test_an_unknown_task_is_200_unknown(api: Api, task_id: str) -> None:
    response = api.get(f"/api/v1/tasks/{task_id}", api.headers())
    assert response.status_code == 200
    assert response.json()["output"] == {"task_id": task_id, "task_status": "UNKNOWN"}


@pytest.mark.parametrize("path", ["/_composer/config", "/_composer/stats", "/_composer/health", "/results/t/0.png"])
def test_the_control_api_is_not_deployed(api: Api, path: str) -> None:
    dashscope_error(api.get(path, api.headers()), 404, "NotFound")


# ---------------------------------------------------------------- the source policy, end to end


@pytest.fixture(scope="module")
def evil() -> Iterator[EvilNet]:
    net = EvilNet.start()
    yield net
    net.stop()


def off_bucket_urls(stack: LocalStack, evil: EvilNet) -> list[tuple[str, str]]:
    """(label, URL) that name anything but an object of the stack's input or output bucket."""
    s3 = stack.client("s3")
    other = f"composer-e2e-other-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=other)
    s3.put_object(Bucket=other, Key="bg.png", Body=b"\x89PNG")
    presigned_other = presign(stack, other, "bg.png")
    origin = urlsplit(s3_origin(stack))
    result_bucket = composer_names(stack)["result_bucket"]
    own = f"/{stack.input_bucket}/{LOGO_KEY}"
    urls = [
        ("another bucket in moto, presigned", presigned_other),
        ("the composer's own result bucket", f"{s3_origin(stack)}/{result_bucket}/results/x/0.png"),
        ("another bucket, AWS virtual-hosted", f"https://{other}.s3.us-east-1.amazonaws.com/bg.png"),
        ("the input bucket's AWS host (the override is in force)",
         f"https://{stack.input_bucket}.s3.us-east-1.amazonaws.com/{LOGO_KEY}"),
        ("metadata service", "https://169.254.169.254/latest/meta-data/iam/security-credentials/"),
        ("metadata service, http", "http://169.254.169.254/latest/meta-data/"),
        ("metadata service, bucket path", f"https://169.254.169.254{own}"),
        ("localhost, the evil port", f"https://localhost:{evil.local.port}{own}"),
        ("127.0.0.1, the evil port", f"https://127.0.0.1:{evil.local.port}{own}"),
        ("the composer's own API", f"{stack.composer_origin}/api/v1/tasks/x"),
        ("moto's plain-HTTP endpoint", f"{stack.moto_endpoint}{own}"),
        ("the S3 endpoint over http", f"http://{origin.netloc}{own}"),
        ("the input bucket, dot segments to another", f"{s3_origin(stack)}/{stack.input_bucket}/../{other}/bg.png"),
    ]  # fmt: skip
    for label, url, _ in hostile_urls(origin.netloc, evil):
        if label != "upper-case scheme":  # HTTPS:// is the S3 endpoint itself (the scheme is case-insensitive)
            urls.append((f"hostile: {label}", url.replace("/results/t/0.png", own)))
    return urls


def test_urls_off_the_two_buckets_are_refused_and_never_fetched(stack: LocalStack, api: Api, evil: EvilNet) -> None:
    # GIVEN URLs naming another bucket, the metadata service, other local ports and the hostile URL list
    names = composer_names(stack)
    urls = off_bucket_urls(stack, evil)
    dynamodb = stack.client("dynamodb")
    before = dynamodb.scan(TableName=names["task_table"], Select="COUNT")["Count"]
    worker_runs = stack.seam.counts()[f"{stack.stack_name}-ComposerWorkerFunction"]
    logo = presigned_logo(stack)
    refused: list[str] = []
    # WHEN each is sent as image_url, and as logo beside a good background
    for label, url in urls:
        for field, response in (("image_url", api.create(url)), ("logo", api.create(logo, logo=url))):
            payload = dashscope_error(response, 400, "InvalidParameter")
            # THEN each is refused with InvalidParameter; URLs the downloader could reach say "Invalid URL"
            if urlsplit(url.strip()).scheme.lower() in ("http", "https") and not url.startswith("//"):
                assert payload["message"].startswith("Invalid URL '"), (label, field, payload)
            assert "Signature=" not in payload["message"]
            refused.append(f"{field}: {label}")
    time.sleep(1)  # a worker would have picked a queued task by now
    print(f"\nrefused at create: {len(refused)} ({len(urls)} URLs x 2 fields)")
    # ... no task was stored, nothing was queued or rendered, and no listener saw a connection
    assert dynamodb.scan(TableName=names["task_table"], Select="COUNT")["Count"] == before
    assert stack.queue_depth(names["render_queue"]) == 0
    assert stack.seam.counts()[f"{stack.stack_name}-ComposerWorkerFunction"] == worker_runs
    assert evil.connections == dict.fromkeys(evil.connections, 0)
    assert len(refused) >= 2 * 50
    assert SIGNED  # every hostile URL carried the canary signature (scanned for in test_security.py)
