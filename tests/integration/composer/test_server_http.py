"""The composer's DashScope-compatible API over real HTTP on loopback."""

from __future__ import annotations

import io
import logging
import re
from typing import Any

import pytest
import requests
from PIL import Image

from .conftest import CREATE, HEADERS, ComposerClient

pytestmark = pytest.mark.integration

TIME_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$")


# ---------------------------------------------------------------- the happy path


def test_task_goes_pending_running_succeeded_and_its_result_downloads(client: ComposerClient) -> None:
    # GIVEN one slot and a first task that holds it for a while
    client.server.update_config({"task_seconds": 0.2, "rules": [{"match": "Blocker", "task_seconds": 1.0}]})
    first = client.create(("Blocker",))
    client.wait(first, {"RUNNING"})

    # WHEN a second task is created
    task_id = client.create(("Spring Sale",), subtitle=["20% off"], text=["SHOP NOW"], underlay=1)

    # THEN it waits PENDING, then runs, then succeeds
    pending = client.query(task_id)["output"]
    assert pending["task_status"] == "PENDING"
    assert TIME_FORMAT.match(pending["submit_time"])
    assert "scheduled_time" not in pending and "end_time" not in pending

    running = client.wait(task_id, {"RUNNING", "SUCCEEDED"})["output"]
    if running["task_status"] == "RUNNING":
        assert TIME_FORMAT.match(running["scheduled_time"])
        assert running["task_metrics"] == {"TOTAL": 1, "SUCCEEDED": 0, "FAILED": 0}

    done = client.wait(task_id)
    output = done["output"]
    assert output["task_status"] == "SUCCEEDED"
    assert all(TIME_FORMAT.match(output[key]) for key in ("submit_time", "scheduled_time", "end_time"))
    assert output["submit_time"] <= output["scheduled_time"] <= output["end_time"]
    assert output["task_metrics"] == {"TOTAL": 1, "SUCCEEDED": 1, "FAILED": 0}
    assert done["usage"] == {"image_count": 1}
    assert isinstance(done["request_id"], str) and done["request_id"]

    (result,) = output["results"]
    url = result["url"]
    assert url.startswith(f"{client.server.origin}/results/{task_id}/0.png?")
    assert re.search(r"[?&]Expires=\d+&OSSAccessKeyId=[^&]+&Signature=[^&]+$", url)
    download = requests.get(url, timeout=10)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(download.content)) as image:
        assert image.format == "PNG"
        assert image.width > 0 and image.height > 0


def test_n_posters_with_a_logo(client: ComposerClient) -> None:
    if "/logo.png" not in client.image_host.routes:
        pytest.skip("no logo fixture")
    task_id = client.create(("With logo",), n=3, logo=client.image_host.url("/logo.png"))
    done = client.wait(task_id)
    assert done["output"]["task_status"] == "SUCCEEDED", done
    assert done["usage"] == {"image_count": 3}
    urls = [item["url"] for item in done["output"]["results"]]
    assert [url.split("?")[0].rsplit("/", 1)[1] for url in urls] == ["0.png", "1.png", "2.png"]
    for url in urls:
        with Image.open(io.BytesIO(requests.get(url, timeout=10).content)) as image:
            assert image.format == "PNG"


def test_head_on_a_result(client: ComposerClient) -> None:
    url = client.wait(client.create())["output"]["results"][0]["url"]
    head = requests.head(url, timeout=10)
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == len(requests.get(url, timeout=10).content)


# ---------------------------------------------------------------- validation


def _without(body: dict[str, Any], key: str) -> dict[str, Any]:
    body["input"].pop(key)
    return body


def _with_input(**changes: Any) -> Any:
    def mutate(body: dict[str, Any]) -> dict[str, Any]:
        body["input"].update(changes)
        return body

    return mutate


def _with_parameters(**changes: Any) -> Any:
    def mutate(body: dict[str, Any]) -> dict[str, Any]:
        body["parameters"].update(changes)
        return body

    return mutate


VALIDATION_CASES = [
    ("title-missing", lambda body: _without(body, "title"), "Title field missing."),
    ("title-not-str", _with_input(title=[1]), "Title is not [str]."),
    ("title-a-string", _with_input(title="Spring"), "Title is not [str]."),
    ("title-empty", _with_input(title=[]), "Title list is empty."),
    ("subtitle-not-str", _with_input(subtitle=[1]), "Subtitle is not [str]."),
    ("text-not-str", _with_input(text=[None]), "Text is not [str]."),
    ("url-no-host", _with_input(image_url="https:xxx.png"), "Invalid URL 'https:xxx.png': No host supplied"),
    ("logo-no-host", _with_input(logo="https:logo.png"), "Invalid URL 'https:logo.png': No host supplied"),
    ("n-too-big", _with_parameters(n=5), "Range of n should be [1, 4]"),
    ("n-zero", _with_parameters(n=0), "Range of n should be [1, 4]"),
    ("underlay", _with_input(underlay=3), "Range of underlay should be [0, 2]"),
    ("temperature", _with_parameters(temperature=1.5), "Range of temperature should be [0.0, 1.0]"),
    ("model", lambda body: {**body, "model": "wanx-nope"}, "Model not exist."),
]


@pytest.mark.parametrize(
    ("mutate", "message"), [case[1:] for case in VALIDATION_CASES], ids=[case[0] for case in VALIDATION_CASES]
)
def test_invalid_bodies_are_rejected_with_the_api_messages(client: ComposerClient, mutate: Any, message: str) -> None:
    response = client.post_raw(mutate(client.body()))
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    payload = response.json()
    assert set(payload) == {"request_id", "code", "message"}
    assert (payload["code"], payload["message"]) == ("InvalidParameter", message)


def test_a_body_that_is_not_json(client: ComposerClient) -> None:
    response = client.session.post(client.base_url + CREATE, data=b"{nope", headers=HEADERS, timeout=10)
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParameter"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"X-DashScope-Async": "enable"}, 401, "InvalidApiKey"),
        ({"Authorization": "Basic abc", "X-DashScope-Async": "enable"}, 401, "InvalidApiKey"),
        ({"Authorization": "Bearer "}, 401, "InvalidApiKey"),
        ({"Authorization": "Bearer k"}, 403, "AccessDenied"),
        ({"Authorization": "Bearer k", "X-DashScope-Async": "disable"}, 403, "AccessDenied"),
    ],
    ids=["no-key", "not-bearer", "empty-key", "no-async-header", "async-disabled"],
)
def test_headers_are_checked(client: ComposerClient, headers: dict[str, str], status: int, code: str) -> None:
    response = client.post_raw(client.body(), headers=headers)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert client.server.stats()["submissions"]["rejected"] == {code: 1}


def test_a_configured_api_key_is_enforced_on_every_api_call(client: ComposerClient) -> None:
    client.server.update_config({"api_key": "right"})
    assert client.post_raw(client.body()).status_code == 401
    assert client.session.get(f"{client.base_url}/tasks/x", headers=HEADERS, timeout=10).status_code == 401
    good = {**HEADERS, "Authorization": "Bearer right"}
    assert client.post_raw(client.body(), headers=good).status_code == 200
    assert client.session.get(f"{client.base_url}/tasks/x", timeout=10).json()["code"] == "InvalidApiKey"


def test_unknown_routes_and_methods(client: ComposerClient) -> None:
    missing = client.session.get(client.server.origin + "/api/v1/nothing", headers=HEADERS, timeout=10)
    assert (missing.status_code, missing.json()["code"]) == (404, "NotFound")
    wrong = client.session.get(client.base_url + CREATE, headers=HEADERS, timeout=10)
    assert wrong.status_code == 405


# ---------------------------------------------------------------- quota


def test_submissions_over_the_rate_get_429(client: ComposerClient) -> None:
    # GIVEN the documented 2 submissions per second
    client.server.update_config({"submissions_per_second": 2})
    # WHEN three arrive at once
    responses = [client.post_raw(client.body((f"Burst {i}",))) for i in range(3)]
    # THEN the third is throttled with DashScope's code and message
    assert [response.status_code for response in responses] == [200, 200, 429]
    assert responses[2].json()["code"] == "Throttling.RateQuota"
    assert responses[2].json()["message"] == "Requests rate limit exceeded, please try again later."
    stats = client.server.stats()
    assert stats["submissions"] == {"total": 3, "accepted": 2, "rejected": {"Throttling.RateQuota": 1}}
    assert stats["max_accepted_in_1s"] == 2
    assert stats["max_submissions_in_1s"] == 3


def test_only_max_in_progress_tasks_run_and_the_rest_wait_in_fifo_order(client: ComposerClient) -> None:
    # GIVEN one slot and tasks that take a while (the first one longer)
    client.server.update_config({"task_seconds": 0.2, "rules": [{"match": "Queue 0", "task_seconds": 1.0}]})
    first, second, third = (client.create((f"Queue {i}",)) for i in range(3))
    # WHEN the first runs
    client.wait(first, {"RUNNING"})
    # THEN the others wait
    assert client.query(second)["output"]["task_status"] == "PENDING"
    assert client.query(third)["output"]["task_status"] == "PENDING"
    outputs = [client.wait(task_id)["output"] for task_id in (first, second, third)]
    assert [output["task_status"] for output in outputs] == ["SUCCEEDED"] * 3
    # AND each started only after the previous one ended (FIFO)
    assert outputs[0]["end_time"] <= outputs[1]["scheduled_time"]
    assert outputs[1]["end_time"] <= outputs[2]["scheduled_time"]
    stats = client.server.stats()
    assert stats["max_in_progress_observed"] == 1
    assert len(stats["busy_intervals"]) == 3
    assert stats["busy_seconds"] >= 1.4


def test_a_higher_in_progress_limit_runs_tasks_together(client: ComposerClient) -> None:
    client.server.update_config({"task_seconds": 0.5, "max_in_progress": 2})
    first, second = client.create(("A",)), client.create(("B",))
    outputs = [client.wait(first)["output"], client.wait(second)["output"]]
    assert outputs[1]["scheduled_time"] < outputs[0]["end_time"]
    assert client.server.stats()["max_in_progress_observed"] == 2


# ---------------------------------------------------------------- outcomes


def test_a_failed_task_reports_its_code_inside_output(client: ComposerClient) -> None:
    client.server.update_config(
        {
            "rules": [
                {"match": "boom", "task_status": "FAILED", "code": "InternalError.Algo", "message": "Inference error"}
            ]
        }
    )
    done = client.wait(client.create(("Make it boom",)))
    assert done["output"]["task_status"] == "FAILED"
    assert (done["output"]["code"], done["output"]["message"]) == ("InternalError.Algo", "Inference error")
    assert "results" not in done["output"]
    assert done["usage"] == {"image_count": 0}
    assert client.server.stats()["tasks_by_final_status"] == {"FAILED": 1}


def test_random_task_failures(client: ComposerClient) -> None:
    client.server.update_config({"task_failed_rate": 1.0})
    done = client.wait(client.create())
    assert (done["output"]["task_status"], done["output"]["code"]) == ("FAILED", "InternalError")


@pytest.mark.parametrize(
    "config",
    [
        {"rules": [{"match": "Spring", "partial": [1]}]},
        {"partial_rate": 1.0, "seed": 7},
    ],
    ids=["rule", "random"],
)
def test_partial_success_with_two_images(client: ComposerClient, config: dict[str, Any]) -> None:
    client.server.update_config(config)
    done = client.wait(client.create(("Spring Sale",), n=2))
    output = done["output"]
    assert output["task_status"] == "SUCCEEDED"
    assert output["task_metrics"] == {"TOTAL": 2, "SUCCEEDED": 1, "FAILED": 1}
    assert done["usage"] == {"image_count": 1}
    failed = [item for item in output["results"] if "url" not in item]
    assert failed == [{"code": "DataInspectionFailed", "message": "Output data may contain inappropriate content."}]
    (ok,) = [item["url"] for item in output["results"] if "url" in item]
    assert requests.get(ok, timeout=10).status_code == 200


def test_unknown_task_ids_answer_unknown_with_http_200(client: ComposerClient) -> None:
    payload = client.query("no-such-task")
    assert payload["output"] == {"task_id": "no-such-task", "task_status": "UNKNOWN"}


def test_rule_unknown_forgets_the_task_and_rule_canceled_cancels_it(client: ComposerClient) -> None:
    client.server.update_config(
        {"rules": [{"match": "forget", "task_status": "UNKNOWN"}, {"match": "drop", "task_status": "CANCELED"}]}
    )
    forgotten = client.wait(client.create(("forget me",)))
    assert forgotten["output"]["task_status"] == "UNKNOWN"
    canceled = client.wait(client.create(("drop me",)))
    assert canceled["output"]["task_status"] == "CANCELED"


def test_cancel_only_while_pending(client: ComposerClient) -> None:
    client.server.update_config({"rules": [{"match": "Running", "task_seconds": 1.0}]})
    running = client.create(("Running",))
    waiting = client.create(("Waiting",))
    client.wait(running, {"RUNNING"})

    ok = client.session.post(f"{client.base_url}/tasks/{waiting}/cancel", headers=HEADERS, timeout=10)
    assert ok.status_code == 200 and "request_id" in ok.json()
    assert client.query(waiting)["output"]["task_status"] == "CANCELED"

    for task_id in (running, waiting, "no-such-task"):
        refused = client.session.post(f"{client.base_url}/tasks/{task_id}/cancel", headers=HEADERS, timeout=10)
        assert refused.status_code == 400
        assert refused.json()["code"] == "UnsupportedOperation"
    assert client.wait(running)["output"]["task_status"] == "SUCCEEDED"


def test_list_tasks_is_flat_and_paged(client: ComposerClient) -> None:
    ids = [client.create((f"List {i}",)) for i in range(3)]
    client.wait(ids[-1])
    response = client.session.get(f"{client.base_url}/tasks", params={"page_size": 2}, headers=HEADERS, timeout=10)
    payload = response.json()
    assert response.status_code == 200
    assert {"request_id", "data", "total", "total_page", "page_no", "page_size"} <= set(payload)
    assert (payload["total"], payload["total_page"], payload["page_no"], payload["page_size"]) == (3, 2, 1, 2)
    assert [item["task_id"] for item in payload["data"]] == [ids[2], ids[1]]
    one = client.session.get(
        f"{client.base_url}/tasks/", params={"task_id": ids[0]}, headers=HEADERS, timeout=10
    ).json()
    assert [item["task_id"] for item in one["data"]] == [ids[0]]
    assert one["data"][0]["model_name"] == "wanx-ast"


# ---------------------------------------------------------------- input downloads


@pytest.mark.parametrize(
    ("path", "config", "code", "message_part"),
    [
        ("/missing.png", {}, "InvalidParameter.DataInspection", "Unable to download the media resource"),
        ("/slow.png", {"fetch_read_timeout": 0.3}, "InvalidParameter.DataInspection", "timed out"),
        ("/text.png", {}, "InvalidParameter", "only PNG and JPG are supported"),
        ("/huge.png", {"max_image_bytes": 100_000}, "InvalidParameter", "exceeds the limit"),
    ],
    ids=["404", "timeout", "not-an-image", "too-big"],
)
def test_input_download_failures_fail_the_task(
    client: ComposerClient, path: str, config: dict[str, Any], code: str, message_part: str
) -> None:
    client.server.update_config(config)
    done = client.wait(client.create(image_path=path))
    assert done["output"]["task_status"] == "FAILED"
    assert done["output"]["code"] == code
    assert message_part in done["output"]["message"]
    assert "topsecret" not in done["output"]["message"]


# ---------------------------------------------------------------- result URLs


def test_tampered_or_foreign_result_urls_are_refused(client: ComposerClient) -> None:
    url = client.wait(client.create())["output"]["results"][0]["url"]
    base, query = url.split("?")
    params = dict(item.split("=", 1) for item in query.split("&"))

    other_path = requests.get(base.replace("/0.png", "/1.png") + "?" + query, timeout=10)
    bad_signature = requests.get(url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB"), timeout=10)
    later_expiry = requests.get(
        f"{base}?Expires={int(params['Expires']) + 1}&OSSAccessKeyId={params['OSSAccessKeyId']}"
        f"&Signature={params['Signature']}",
        timeout=10,
    )
    unsigned = requests.get(base, timeout=10)
    for response in (other_path, bad_signature, later_expiry, unsigned):
        assert response.status_code == 403
        assert response.headers["Content-Type"] == "application/xml"
    assert "<Code>SignatureDoesNotMatch</Code>" in bad_signature.text
    assert requests.get(url, timeout=10).status_code == 200


def test_a_signed_url_for_a_result_that_does_not_exist_is_404(client: ComposerClient) -> None:
    path = "/results/00000000-0000-0000-0000-000000000000/0.png"
    query = client.server.app.signer.sign(path, ttl_seconds=60)
    response = requests.get(f"{client.server.origin}{path}?{query}", timeout=10)
    assert response.status_code == 404
    assert "<Code>NoSuchKey</Code>" in response.text


def test_result_url_rules(client: ComposerClient) -> None:
    client.server.update_config(
        {
            "rules": [
                {"match": "foreign", "result_urls": ["https://evil.example/x.png", "http://169.254.169.254/"]},
                {"match": "redirect", "result_redirect": "https://evil.example/next.png"},
                {"match": "html", "result_content_type": "text/html"},
                {"match": "padded", "result_extra_bytes": 200_000},
            ]
        }
    )
    foreign = client.wait(client.create(("foreign",)))["output"]["results"]
    assert foreign == [{"url": "https://evil.example/x.png"}, {"url": "http://169.254.169.254/"}]

    redirect_url = client.wait(client.create(("redirect",)))["output"]["results"][0]["url"]
    redirect = requests.get(redirect_url, allow_redirects=False, timeout=10)
    assert (redirect.status_code, redirect.headers["Location"]) == (302, "https://evil.example/next.png")

    html_url = client.wait(client.create(("html",)))["output"]["results"][0]["url"]
    assert requests.get(html_url, timeout=10).headers["Content-Type"] == "text/html"

    padded_url = client.wait(client.create(("padded",)))["output"]["results"][0]["url"]
    padded = requests.get(padded_url, timeout=10)
    assert int(padded.headers["Content-Length"]) == len(padded.content)
    assert padded.content.startswith(b"\x89PNG") and padded.content.endswith(bytes(1000))
    assert len(padded.content) > 200_000


def test_a_stalled_result_body_trips_the_client_read_timeout(client: ComposerClient) -> None:
    client.server.update_config({"rules": [{"match": "stall", "result_stall_seconds": 2.0}]})
    url = client.wait(client.create(("stall",)))["output"]["results"][0]["url"]
    with (
        pytest.raises(requests.exceptions.ConnectionError),
        requests.get(url, stream=True, timeout=(3, 0.3)) as response,
    ):
        assert response.status_code == 200
        response.content  # noqa: B018 - reading the body is the point


# ---------------------------------------------------------------- fault rules on submission


def test_submit_error_rule_fails_the_first_n_submissions_of_a_title(client: ComposerClient) -> None:
    client.server.update_config(
        {
            "rules": [
                {
                    "match": "flaky",
                    "submit_error": {"status": 503, "code": "ServiceUnavailable", "message": "try later", "times": 2},
                }
            ]
        }
    )
    statuses = [client.post_raw(client.body(("flaky upload",))).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert client.post_raw(client.body(("another title",))).status_code == 200
    stats = client.server.stats()
    assert stats["submissions"]["rejected"] == {"ServiceUnavailable": 2}
    by_input = {entry["title"]: entry for entry in stats["submissions_by_input"]}
    assert by_input["flaky upload"]["accepted"] == 1 and by_input["flaky upload"]["attempts"] == 3
    assert by_input["flaky upload"]["image_url"] == client.image_host.url("/bg.png", query="")


def test_random_submit_faults_are_seeded(client: ComposerClient) -> None:
    def run() -> list[int]:
        client.server.reset()
        client.server.update_config(
            {"submit_429_rate": 0.3, "submit_5xx_rate": 0.3, "seed": 42, "submissions_per_second": None}
        )
        return [client.post_raw(client.body((f"R{i}",))).status_code for i in range(12)]

    first = run()
    assert first == run()
    assert {429, 200} <= set(first)
    assert set(first) <= {200, 429, 500, 503}


# ---------------------------------------------------------------- control API


def test_control_api_config_stats_and_reset(client: ComposerClient) -> None:
    config = client.control("GET", "config").json()
    assert config["max_in_progress"] == 1 and config["task_seconds"] == 0.05

    bad = client.control("PUT", "config", {"max_in_progress": 0})
    assert bad.status_code == 400 and "max_in_progress" in bad.json()["message"]
    unknown = client.control("PUT", "config", {"nope": 1})
    assert unknown.status_code == 400

    rule = {"match": "x", "task_status": "FAILED", "code": "C", "message": "M"}
    updated = client.control("PUT", "config", {"max_in_progress": 3, "rules": [rule]}).json()
    assert updated["max_in_progress"] == 3 and updated["rules"] == [rule]
    assert client.server.config.max_in_progress == 3

    task_id = client.create()
    client.wait(task_id)
    stats = client.control("GET", "stats").json()
    assert stats["submissions"]["accepted"] == 1 and stats["queries"] >= 1
    assert stats["in_progress"] == 0 and stats["pending"] == 0

    assert client.control("POST", "reset").status_code == 200
    assert client.control("GET", "config").json() == config
    assert client.query(task_id)["output"]["task_status"] == "UNKNOWN"
    assert client.control("GET", "stats").json()["submissions"]["total"] == 0
    assert client.control("GET", "health").json() == {"ok": True}


def test_logs_hold_neither_the_api_key_nor_query_strings(
    client: ComposerClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="poster_composer")
    client.server.update_config({"rules": [{"match": "bad", "task_status": "FAILED"}]})
    url = client.wait(client.create())["output"]["results"][0]["url"]
    requests.get(url, timeout=10)
    requests.get(url + "x", timeout=10)
    client.wait(client.create(image_path="/missing.png"))
    client.wait(client.create(("bad",)))
    text = caplog.text
    assert "/api/v1/tasks/" in text  # requests are logged ...
    for secret in ("test-key", "topsecret", "Signature=", "Expires="):
        assert secret not in text  # ... without their secrets


def test_stop_ends_keep_alive_connections_and_the_server_can_start_again(client: ComposerClient) -> None:
    # GIVEN a client holding a keep-alive connection
    health = "/_composer/health"
    assert client.control("GET", "health").status_code == 200
    origin = client.server.origin
    # WHEN the server stops (twice: idempotent)
    client.server.stop()
    client.server.stop()
    # THEN neither the pooled connection nor a new one is answered
    with pytest.raises(requests.exceptions.ConnectionError):
        client.session.get(origin + health, timeout=2)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(origin + health, timeout=2)
    # AND it can start again (on a new free port) and still run tasks
    client.server.start()
    client.session = requests.Session()
    assert client.wait(client.create())["output"]["task_status"] == "SUCCEEDED"
