from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from poster_common.config import DEFAULT_RESULT_HOSTS, Settings
from poster_common.models import Job, JobSpec, ObjectRef, job_id_for, stem_for
from poster_common.payloads import ExecutionState
from poster_common.poll import next_wait, seconds_since
from poster_common.record_failure import describe, sanitise
from poster_common.s3_events import NotAnS3EventError, created_objects
from tests.conftest import load_event


def test_settings_defaults_and_overrides() -> None:
    settings = Settings.from_env({})
    assert settings.model == "wanx-ast"
    assert settings.base_url == "https://dashscope.aliyuncs.com/api/v1"
    assert len(settings.result_host_allowlist) == 9 == len(DEFAULT_RESULT_HOSTS)
    assert settings.poll_schedule == (1, 1, 2, 2, 2, 4, 4, 4, 5)
    custom = Settings.from_env(
        {
            "POLL_SCHEDULE": "0",
            "RESULT_HOST_ALLOWLIST": "a.test, localhost:9",
            "MAX_WAIT_SECONDS": "5",
            "DASHSCOPE_MODEL": "wanx-poster-generation-v1",
        }
    )
    assert custom.poll_schedule == (0,)
    assert custom.result_host_allowlist == ("a.test", "localhost:9")
    assert (custom.max_wait_seconds, custom.model) == (5, "wanx-poster-generation-v1")
    with pytest.raises(ValueError, match="prefixes"):
        Settings.from_env({"INPUT_PREFIX": "incoming"})


def test_official_sdk_schedule_then_repeat() -> None:
    assert [next_wait((1, 1, 2, 2, 2, 4, 4, 4, 5), a) for a in range(12)] == [1, 1, 2, 2, 2, 4, 4, 4, 5, 5, 5, 5]
    assert seconds_since("2026-01-01T00:00:00.000Z", datetime(2026, 1, 1, 0, 0, 7, tzinfo=UTC)) == 7


def test_job_id_is_deterministic_and_sensitive_to_version_and_spec() -> None:
    ref = ObjectRef("b", "incoming/a.jpg", None, '"e1"')
    spec = {"title": ["x"]}
    assert job_id_for(ref, spec, "m") == job_id_for(ObjectRef("b", "incoming/a.jpg", None, "e1"), spec, "m")
    assert job_id_for(ref, spec, "m") != job_id_for(ObjectRef("b", "incoming/a.jpg", None, "e2"), spec, "m")
    assert job_id_for(ref, spec, "m") != job_id_for(ref, {"title": ["y"]}, "m")
    assert len(job_id_for(ref, spec, "m")) == 32
    assert stem_for("incoming/a/b c.jpg", "incoming/") == "a/b c"
    assert JobSpec.from_dict(JobSpec(title=("t",), n=2).to_dict()) == JobSpec(title=("t",), n=2)


def test_sqs_body_with_encoded_unicode_key() -> None:
    body = load_event("submit_sqs_s3_encoded_key.json")["Records"][0]["body"]
    (ref,) = created_objects(body)
    assert ref.key == "incoming/Happy Face 海报.jpg"
    assert ref.version_id == "v1"


def test_s3_test_event_is_skipped() -> None:
    assert created_objects(load_event("submit_sqs_s3_test_event.json")["Records"][0]["body"]) == []


@pytest.mark.parametrize("body", ["not json", "[1]", json.dumps({"hello": "world"}), json.dumps({"Records": [1]})])
def test_non_s3_messages_cannot_be_processed(body: str) -> None:
    with pytest.raises(NotAnS3EventError):
        created_objects(body)


def test_removal_events_are_ignored() -> None:
    body = {"Records": [{"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]}
    assert created_objects(json.dumps(body)) == []


@pytest.mark.parametrize(
    ("stage", "state", "code"),
    [
        (
            "task",
            {"poll": {"status": "FAILED", "code": "InternalError", "message": "Inference error"}},
            "InternalError",
        ),
        ("task", {"poll": {"status": "CANCELED"}}, "TaskCanceled"),
        ("task", {"poll": {"status": "UNKNOWN"}}, "TaskUnknown"),
        ("timeout", {"poll": {"status": "RUNNING", "attempt": 9, "elapsed_seconds": 61}}, "TimedOut"),
        (
            "finalize",
            {
                "error": {
                    "Error": "NoResultCopiedError",
                    "Cause": json.dumps({"errorMessage": "no result (0: ResultHostNotAllowed)"}),
                }
            },
            "NoResultCopied",
        ),
        ("poll", {"error": {"Error": "TransientError", "Cause": "{}"}}, "Transient"),
        ("finalize", {"error": {"Error": "States.Timeout", "Cause": ""}}, "Timeout"),
        ("finalize", {"error": {"Error": "KeyError", "Cause": '{"errorMessage": "\'x\'"}'}}, "UnexpectedError"),
    ],
)
def test_every_failure_path_gets_a_code(stage: str, state: dict[str, object], code: str) -> None:
    job = Job("j1", "a", "wanx-ast", ObjectRef("in", "incoming/a.jpg"), JobSpec(title=("T",)))
    assert describe(stage, ExecutionState.from_dict({"job": job.to_dict(), **state}))[0] == code


def test_failure_messages_never_carry_signed_urls() -> None:
    text = sanitise("could not fetch https://h.test/a.png?Signature=abc&X-Amz-Security-Token=tok now")
    assert "Signature" not in text and "tok" not in text
    assert "https://h.test/a.png" in text
