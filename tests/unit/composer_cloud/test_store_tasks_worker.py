"""The deployed composer's task store, task backend and render worker against moto's in-process DynamoDB, SQS
and S3 (``mock_aws``: no sockets).

PENDING → RUNNING (one claim per task, so a duplicate delivery renders nothing twice; a RUNNING task whose
worker died is taken over after ``stale_after``) → SUCCEEDED / FAILED; CANCELED only from PENDING; UNKNOWN for
an id the table does not hold (or holds past its TTL); FAILED ``InternalError.Timeout`` for a task unfinished
past the timeout; result URLs presigned on the bucket's regional virtual-hosted host.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.exceptions import ClientError

from poster_composer.cloud.results import ResultBucket, result_key, s3_client
from poster_composer.cloud.store import DynamoTaskStore
from poster_composer.cloud.tasks import TIMEOUT_CODE, CloudTasks
from poster_composer.cloud.worker import RenderWorker
from poster_composer.errors import InternalServerError, TaskFailedError, UnsupportedOperationError
from poster_composer.fault_injector import TaskPlan
from poster_composer.faults import ComposerConfig
from poster_composer.task_view import ResultEntry, TaskStatus
from tests.unit.composer_cloud.conftest import (
    INPUT,
    OUTPUT,
    REGION,
    RESULTS,
    RETENTION,
    TIMEOUT,
    FakeRenderer,
    RecordingFetcher,
    png,
    synthesis,
)

if TYPE_CHECKING:
    from poster_composer.input_media import FetchLimits
    from tests.unit.composer_cloud.conftest import Cloud

BACKGROUND = f"https://{INPUT}.s3.{REGION}.amazonaws.com/incoming/a.jpg?X-Amz-Signature=sig"
LOGO = f"https://{INPUT}.s3.{REGION}.amazonaws.com/incoming/logo.png?X-Amz-Signature=sig"
STALE_AFTER = 300.0
UNSUPPORTED = "The format of image_url is not supported, only PNG and JPG are supported."


def worker(cloud: Cloud, fetcher: RecordingFetcher, renderer: FakeRenderer) -> RenderWorker:
    return RenderWorker(cloud.store, cloud.results, cloud.sources, fetcher, renderer, ComposerConfig(), STALE_AFTER)


# ---------------------------------------------------------------- DynamoTaskStore


def test_a_created_task_is_pending_with_a_24h_ttl_and_its_request_round_trips(cloud: Cloud) -> None:
    # GIVEN a validated request (tuples, unicode, a logo)
    wanted = synthesis(logo=LOGO, n=3)
    # WHEN it is stored
    task = cloud.store.create(wanted)
    # THEN the task is PENDING, expires a day after submission, and its request reads back unchanged
    assert (task.status, task.n, task.submit_time) == (TaskStatus.PENDING, 3, cloud.clock.now)
    item = cloud.table.get_item(Key={"task_id": task.task_id})["Item"]
    assert int(item["expires_at"]) == int(cloud.clock.now) + RETENTION
    assert cloud.store.request(task.task_id) == wanted
    got = cloud.store.get(task.task_id)
    assert got is not None and got.status is TaskStatus.PENDING and got.scheduled_time is None


def test_unknown_and_expired_tasks_read_as_none(cloud: Cloud) -> None:
    # GIVEN an id never created, and a task read after its TTL
    task = cloud.store.create(synthesis())
    assert cloud.store.get("no-such-task") is None
    assert cloud.store.request("no-such-task") is None
    # WHEN the clock passes expires_at (DynamoDB's TTL deletes lazily: the item may still be there)
    cloud.clock.now += RETENTION + 1
    # THEN the store reports it gone
    assert cloud.store.get(task.task_id) is None


def test_claim_is_granted_once_and_a_stale_running_task_is_taken_over(cloud: Cloud) -> None:
    # GIVEN a PENDING task
    task = cloud.store.create(synthesis())
    # WHEN two deliveries claim it at once
    first, second = cloud.store.claim(task.task_id, STALE_AFTER), cloud.store.claim(task.task_id, STALE_AFTER)
    # THEN only the first gets it, and it is RUNNING with its scheduled time
    assert (first, second) == (True, False)
    running = cloud.store.get(task.task_id)
    assert running is not None and running.status is TaskStatus.RUNNING
    assert running.scheduled_time == cloud.clock.now
    # WHEN the worker is silent for less than stale_after, a redelivery still may not take it
    cloud.clock.now += STALE_AFTER - 1
    assert not cloud.store.claim(task.task_id, STALE_AFTER)
    # WHEN it stays silent past stale_after (its worker died), a redelivery takes it over
    cloud.clock.now += 2
    assert cloud.store.claim(task.task_id, STALE_AFTER)


def test_cancel_only_from_pending_and_finish_only_from_running(cloud: Cloud) -> None:
    # GIVEN a PENDING task, a RUNNING one and an unknown id
    pending = cloud.store.create(synthesis())
    running = cloud.store.create(synthesis())
    assert cloud.store.claim(running.task_id, STALE_AFTER)
    # THEN finish needs RUNNING, cancel needs PENDING, and neither creates an unknown task
    assert not cloud.store.finish(pending.task_id, TaskStatus.SUCCEEDED, results=[])
    assert not cloud.store.cancel(running.task_id)
    assert not cloud.store.cancel("no-such-task")
    assert not cloud.store.finish("no-such-task", TaskStatus.FAILED, code="X", message="y")
    assert cloud.table.get_item(Key={"task_id": "no-such-task"}).get("Item") is None
    assert cloud.store.cancel(pending.task_id)
    assert not cloud.store.claim(pending.task_id, STALE_AFTER)  # a cancelled task is never rendered
    assert not cloud.store.cancel(pending.task_id)
    # WHEN the running task finishes, it cannot finish again or be claimed again
    entries = [ResultEntry(key=result_key(running.task_id, 0)), ResultEntry(code="InternalError", message="x")]
    assert cloud.store.finish(running.task_id, TaskStatus.SUCCEEDED, results=entries)
    assert not cloud.store.finish(running.task_id, TaskStatus.FAILED, code="X", message="y")
    cloud.clock.now += STALE_AFTER * 10
    assert not cloud.store.claim(running.task_id, STALE_AFTER)
    done = cloud.store.get(running.task_id)
    assert done is not None and done.status is TaskStatus.SUCCEEDED and done.results == entries
    cancelled = cloud.store.get(pending.task_id)
    assert cancelled is not None and cancelled.status is TaskStatus.CANCELED


# ---------------------------------------------------------------- CloudTasks


def test_submit_stores_the_task_and_queues_its_id(cloud: Cloud) -> None:
    # WHEN a task is submitted
    task = cloud.tasks.submit(synthesis(), TaskPlan())
    # THEN it is PENDING and its id (only its id) is on the render queue
    assert task.status is TaskStatus.PENDING
    assert [json.loads(body) for body in cloud.queued()] == [{"task_id": task.task_id}]


def test_submit_that_cannot_queue_cancels_the_task_and_answers_500(cloud: Cloud) -> None:
    # GIVEN a render queue that does not exist
    tasks = CloudTasks(cloud.store, cloud.results, cloud.sqs, cloud.queue_url + "-gone", TIMEOUT, cloud.clock)
    # WHEN a task is submitted
    with pytest.raises(InternalServerError):
        tasks.submit(synthesis(), TaskPlan())
    # THEN the stored task is CANCELED (never left PENDING for ever)
    items = cloud.table.scan()["Items"]
    assert [item["status"] for item in items] == ["CANCELED"]


def test_an_unknown_task_reads_as_unknown(cloud: Cloud) -> None:
    assert cloud.tasks.view("0b6e1a4e-no-such-task", "https://x") == {
        "output": {"task_id": "0b6e1a4e-no-such-task", "task_status": "UNKNOWN"}
    }


def test_an_unfinished_task_past_the_timeout_reads_as_failed_but_a_finished_one_does_not(cloud: Cloud) -> None:
    # GIVEN a PENDING task, a RUNNING one and a SUCCEEDED one
    pending = cloud.tasks.submit(synthesis(), TaskPlan())
    running = cloud.tasks.submit(synthesis(), TaskPlan())
    done = cloud.tasks.submit(synthesis(), TaskPlan())
    for task in (running, done):
        assert cloud.store.claim(task.task_id, STALE_AFTER)
    cloud.store.finish(done.task_id, TaskStatus.SUCCEEDED, results=[ResultEntry(key=result_key(done.task_id, 0))])
    # WHEN queried just before the timeout, nothing has changed
    cloud.clock.now += TIMEOUT - 1
    assert cloud.tasks.view(pending.task_id, "")["output"]["task_status"] == "PENDING"
    assert cloud.tasks.view(running.task_id, "")["output"]["task_status"] == "RUNNING"
    # WHEN queried past it
    cloud.clock.now += 2
    # THEN the unfinished ones read as FAILED InternalError.Timeout, the finished one as it is
    for task in (pending, running):
        output = cloud.tasks.view(task.task_id, "")["output"]
        assert (output["task_status"], output["code"]) == ("FAILED", TIMEOUT_CODE)
    assert cloud.tasks.view(done.task_id, "")["output"]["task_status"] == "SUCCEEDED"
    # ... and the stored item is not rewritten by a query
    stored = cloud.store.get(running.task_id)
    assert stored is not None and stored.status is TaskStatus.RUNNING


def test_result_urls_are_presigned_on_the_buckets_regional_virtual_host(cloud: Cloud) -> None:
    # GIVEN a SUCCEEDED task with one result in the bucket and one failed sub-image
    task = cloud.tasks.submit(synthesis(n=2), TaskPlan())
    assert cloud.store.claim(task.task_id, STALE_AFTER)
    key = cloud.results.put(task.task_id, 0, b"\x89PNG fake")
    entries = [ResultEntry(key=key), ResultEntry(code="InternalError", message="Inference error")]
    cloud.store.finish(task.task_id, TaskStatus.SUCCEEDED, results=entries)
    # WHEN it is queried (no endpoint override: on AWS)
    body = cloud.tasks.view(task.task_id, "https://api.example")
    # THEN the URL is a SigV4 presigned GET on <bucket>.s3.<region>.amazonaws.com for results/<task>/0.png
    output = body["output"]
    url = output["results"][0]["url"]
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.port) == ("https", f"{RESULTS}.s3.{REGION}.amazonaws.com", None)
    assert parts.path == f"/results/{task.task_id}/0.png"
    query = parse_qs(parts.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["3600"]
    assert output["results"][1] == {"code": "InternalError", "message": "Inference error"}
    assert output["task_metrics"] == {"TOTAL": 2, "SUCCEEDED": 1, "FAILED": 1}
    assert body["usage"] == {"image_count": 1}


def test_behind_an_endpoint_override_result_urls_are_path_style_on_it() -> None:
    # GIVEN the local stack's endpoint override (moto over HTTPS on loopback)
    results = ResultBucket(s3_client(REGION, "https://localhost:4443"), RESULTS, 60)
    # WHEN a result is presigned (no request is made)
    parts = urlsplit(results.url(result_key("t", 1)))
    # THEN it is on that origin, path-style
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "localhost:4443", f"/{RESULTS}/results/t/1.png")


def test_cancel_of_a_task_that_is_not_pending_is_unsupported(cloud: Cloud) -> None:
    task = cloud.tasks.submit(synthesis(), TaskPlan())
    cloud.tasks.cancel(task.task_id)
    with pytest.raises(UnsupportedOperationError):
        cloud.tasks.cancel(task.task_id)
    with pytest.raises(UnsupportedOperationError):
        cloud.tasks.cancel("no-such-task")


def test_listing_is_not_offered(cloud: Cloud) -> None:
    with pytest.raises(UnsupportedOperationError):
        cloud.tasks.list_tasks({}, "")


# ---------------------------------------------------------------- RenderWorker


def test_the_worker_renders_a_task_once_and_a_duplicate_delivery_does_nothing(cloud: Cloud) -> None:
    # GIVEN a queued task with n=2 and a logo of the input bucket
    task = cloud.tasks.submit(synthesis(logo=LOGO, n=2), TaskPlan())
    fetcher, renderer = RecordingFetcher(), FakeRenderer()
    render = worker(cloud, fetcher, renderer)
    # WHEN the queue delivers it twice
    first, second = render.run(task.task_id), render.run(task.task_id)
    # THEN it was rendered once, both PNGs are in the result bucket, and the task SUCCEEDED
    assert (first, second) == (TaskStatus.SUCCEEDED, None)
    assert len(renderer.calls) == 1 and renderer.calls[0][1] is True
    assert [field for _, field in fetcher.calls] == ["image_url", "logo"]
    for index in range(2):
        body = cloud.s3.get_object(Bucket=RESULTS, Key=f"results/{task.task_id}/{index}.png")
        assert body["ContentType"] == "image/png" and body["Body"].read().startswith(b"\x89PNG")
    output = cloud.tasks.view(task.task_id, "")["output"]
    assert output["task_status"] == "SUCCEEDED" and len(output["results"]) == 2


def test_the_worker_skips_a_cancelled_or_unknown_task(cloud: Cloud) -> None:
    task = cloud.tasks.submit(synthesis(), TaskPlan())
    cloud.tasks.cancel(task.task_id)
    fetcher, renderer = RecordingFetcher(), FakeRenderer()
    render = worker(cloud, fetcher, renderer)
    assert render.run(task.task_id) is None
    assert render.run("no-such-task") is None
    assert fetcher.calls == [] and renderer.calls == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "The format of image_url is not supported, only PNG and JPG are supported."),
        (
            b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
            "The format of image_url is not supported, only PNG and JPG are supported.",
        ),
        (b"<html>not an image</html>", "The format of image_url is not supported, only PNG and JPG are supported."),
    ],
    ids=["empty", "corrupt PNG header", "HTML"],
)
def test_a_corrupt_background_fails_the_task_with_invalid_parameter(cloud: Cloud, body: bytes, message: str) -> None:
    # GIVEN a task whose background download is not an image
    task = cloud.tasks.submit(synthesis(), TaskPlan())
    renderer = FakeRenderer()
    # WHEN the worker runs it
    status = worker(cloud, RecordingFetcher(body=body), renderer).run(task.task_id)
    # THEN the task is FAILED with the API's code and message, nothing was rendered or stored
    assert status is TaskStatus.FAILED
    output = cloud.tasks.view(task.task_id, "")["output"]
    assert (output["task_status"], output["code"], output["message"]) == ("FAILED", "InvalidParameter", message)
    assert renderer.calls == []
    assert cloud.s3.list_objects_v2(Bucket=RESULTS).get("KeyCount") == 0


def test_a_background_too_large_fails_the_task(cloud: Cloud) -> None:
    # GIVEN a task whose background is over the API's resolution limit
    task = cloud.tasks.submit(synthesis(), TaskPlan())
    status = worker(cloud, RecordingFetcher(body=_big_png()), FakeRenderer()).run(task.task_id)
    output = cloud.tasks.view(task.task_id, "")["output"]
    assert status is TaskStatus.FAILED
    assert (output["code"], output["message"]) == (
        "InvalidParameter",
        "The resolution of image_url exceeds the limit of 3840x2160.",
    )


def test_a_renderer_failure_fails_the_task_as_an_inference_error(cloud: Cloud) -> None:
    task = cloud.tasks.submit(synthesis(), TaskPlan())
    renderer = FakeRenderer()
    renderer.error = ValueError("cannot decode")
    assert worker(cloud, RecordingFetcher(), renderer).run(task.task_id) is TaskStatus.FAILED
    output = cloud.tasks.view(task.task_id, "")["output"]
    assert (output["code"], output["message"]) == ("InternalError", "Inference error")


def test_a_download_failure_fails_the_task_with_the_fetchers_code(cloud: Cloud) -> None:
    class Unreachable(RecordingFetcher):
        def __call__(self, url: str, field: str, limits: FetchLimits) -> bytes:
            raise TaskFailedError("InvalidParameter.DataInspection", "Unable to download the media resource.")

    task = cloud.tasks.submit(synthesis(), TaskPlan())
    assert worker(cloud, Unreachable(), FakeRenderer()).run(task.task_id) is TaskStatus.FAILED
    assert cloud.tasks.view(task.task_id, "")["output"]["code"] == "InvalidParameter.DataInspection"


@pytest.mark.parametrize(
    ("image_url", "logo", "field"),
    [
        ("https://169.254.169.254/latest/meta-data/iam/security-credentials/", None, "image_url"),
        (f"https://someone-else.s3.{REGION}.amazonaws.com/incoming/a.jpg", None, "image_url"),
        (f"https://{INPUT}.s3.{REGION}.amazonaws.com.evil.test/incoming/a.jpg", None, "image_url"),
        ("http://localhost:8080/admin", None, "image_url"),
        (BACKGROUND, "https://evil.test/logo.png", "logo"),
        (BACKGROUND, f"https://s3.{REGION}.amazonaws.com/{OUTPUT}/../other/logo.png", "logo"),
    ],
    ids=[
        "metadata service",
        "other bucket",
        "look-alike host",
        "localhost",
        "logo off the buckets",
        "logo dot segments",
    ],
)
def test_an_off_bucket_url_in_a_stored_task_fails_it_and_is_never_fetched(
    cloud: Cloud, image_url: str, logo: str | None, field: str
) -> None:
    # GIVEN a stored task whose URL is off the two buckets (the API refuses these; the worker checks again)
    task = cloud.store.create(synthesis(image_url, logo=logo))
    fetcher = RecordingFetcher()
    # WHEN the worker runs it
    status = worker(cloud, fetcher, FakeRenderer()).run(task.task_id)
    # THEN the task is FAILED InvalidParameter "Invalid URL" and nothing was fetched
    assert status is TaskStatus.FAILED
    output = cloud.tasks.view(task.task_id, "")["output"]
    assert output["code"] == "InvalidParameter"
    assert output["message"].startswith("Invalid URL") and f"{field} must be an object" in output["message"]
    assert fetcher.calls == []


def test_an_error_of_our_own_propagates_and_the_task_is_redelivered_later(cloud: Cloud) -> None:
    # GIVEN a result bucket that does not exist (an S3 error of our own, not the task's fault)
    task = cloud.tasks.submit(synthesis(), TaskPlan())
    broken = RenderWorker(
        cloud.store,
        ResultBucket(s3_client(REGION, None), "no-such-bucket", 60),
        cloud.sources,
        RecordingFetcher(),
        FakeRenderer(),
        ComposerConfig(),
        STALE_AFTER,
    )
    # WHEN the worker runs it, the error propagates (the queue will deliver the message again)
    with pytest.raises(ClientError):
        broken.run(task.task_id)
    # THEN the task is still RUNNING; a redelivery after stale_after takes it over and finishes it
    running = cloud.store.get(task.task_id)
    assert running is not None and running.status is TaskStatus.RUNNING
    good = worker(cloud, RecordingFetcher(), FakeRenderer())
    assert good.run(task.task_id) is None
    cloud.clock.now += STALE_AFTER + 1
    assert good.run(task.task_id) is TaskStatus.SUCCEEDED


def _big_png() -> bytes:
    return png((3841, 100))


class KeySizeCheckingTable:
    """The moto table, refusing a hash key over 2048 bytes on every key-bearing call as DynamoDB does.

    moto 5.2.5 enforces the limit on writes only; AWS answers GetItem / UpdateItem / DeleteItem with an oversized
    key with ``ValidationException: One or more parameter values were invalid: Size of hashkey has exceeded the
    maximum size limit of2048 bytes`` (observed with the AWS CLI, ExtendDB PR #194).
    """

    def __init__(self, table: object) -> None:
        self._table = table

    def __getattr__(self, name: str) -> object:
        method = getattr(self._table, name)

        def call(**kwargs: object) -> object:
            key = kwargs.get("Key")
            if isinstance(key, dict) and len(str(key.get("task_id", "")).encode()) > 2048:
                raise ClientError(
                    {
                        "Error": {
                            "Code": "ValidationException",
                            "Message": "One or more parameter values were invalid: Size of hashkey has exceeded "
                            "the maximum size limit of2048 bytes",
                        }
                    },
                    name,
                )
            return method(**kwargs)

        return call


@pytest.mark.parametrize("task_id", ["x" * 2049, "海" * 700, "0" * 5000], ids=["ascii", "utf-8", "5000"])
def test_an_id_over_dynamodbs_key_limit_is_unknown_not_an_error(cloud: Cloud, task_id: str) -> None:
    # GIVEN the task table as AWS runs it (a key over 2048 bytes is a ValidationException, not a miss)
    store = DynamoTaskStore(KeySizeCheckingTable(cloud.table), RETENTION, cloud.clock)
    tasks = CloudTasks(store, cloud.results, cloud.sqs, cloud.queue_url, TIMEOUT, cloud.clock)
    # WHEN a client queries or cancels a task id no task of ours can have (ours are UUIDs)
    body = tasks.view(task_id, "")
    # THEN it is UNKNOWN, as any other id the service never issued (not a 500)
    assert body == {"output": {"task_id": task_id, "task_status": "UNKNOWN"}}
    with pytest.raises(UnsupportedOperationError):
        tasks.cancel(task_id)
    assert store.get(task_id) is None
    assert not store.claim(task_id, STALE_AFTER)


def test_a_task_already_reported_timed_out_is_never_rendered_later(cloud: Cloud) -> None:
    # GIVEN a task whose render message arrives only after the timeout (a third delivery, a backlog):
    # queries already answer FAILED InternalError.Timeout, a terminal status
    task = cloud.tasks.submit(synthesis(), TaskPlan())
    cloud.clock.now += TIMEOUT + 1
    assert cloud.tasks.view(task.task_id, "")["output"]["code"] == TIMEOUT_CODE
    fetcher, renderer = RecordingFetcher(), FakeRenderer()
    render = RenderWorker(
        cloud.store, cloud.results, cloud.sources, fetcher, renderer, ComposerConfig(), STALE_AFTER, max_age=TIMEOUT
    )
    # WHEN the worker gets it
    status = render.run(task.task_id)
    # THEN it does nothing, and the task keeps reading as FAILED (never FAILED first, SUCCEEDED later)
    assert status is None and fetcher.calls == [] and renderer.calls == []
    output = cloud.tasks.view(task.task_id, "")["output"]
    assert (output["task_status"], output["code"]) == ("FAILED", TIMEOUT_CODE)
    # ... while a task within the timeout still renders
    fresh = cloud.tasks.submit(synthesis(), TaskPlan())
    assert render.run(fresh.task_id) is TaskStatus.SUCCEEDED


def test_the_deployed_worker_is_built_with_the_task_timeout() -> None:
    from poster_composer.cloud.service import build_worker
    from poster_composer.cloud.settings import CloudSettings

    settings = CloudSettings("t", "q", "r", frozenset({"in"}), "s", "us-east-1", task_timeout_seconds=600.0)
    worker = build_worker(settings)
    assert (worker._stale_after, worker._max_age) == (200.0, 600.0)
