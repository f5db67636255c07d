from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from poster_common.config import Settings
from poster_common.errors import InvalidJobSpecError, PermanentError
from poster_common.finalize import _manifest
from poster_common.models import Job, JobSpec, ObjectRef, ResultItem, TaskSnapshot, TaskStatus
from poster_common.payloads import ExecutionState, TaskRef
from poster_common.poster_api import PosterApiClient
from poster_common.profiles import (
    IMAGE2IMAGE_PATH,
    PROFILES,
    TEXT2IMAGE_PATH,
    WAN25_PROMPT_MAX_CHARS,
    poster_prompt,
    profile_for,
    task_results,
)
from poster_common.services import Services
from poster_common.submit import submit_task
from tests.unit.domain.fakes import FakeResponse, ScriptedSession

BASE = "https://dashscope.example/api/v1"
BG = "https://in.s3.amazonaws.com/incoming/a.jpg?X-Amz-Signature=s"
LOGO = "https://in.s3.amazonaws.com/brand/logo.png?X-Amz-Signature=s"
ACCEPTED = {"request_id": "r-1", "output": {"task_id": "t-1", "task_status": "PENDING"}}
FULL = JobSpec(
    title=("Spring Sale",), subtitle=("Up to 50% off",), text=("Shop now »",), underlay=1, n=2, temperature=0.3
)


# ---------------------------------------------------------------- choosing a profile


def test_profiles_are_found_by_model_name() -> None:
    assert set(PROFILES) == {"wanx-ast", "wan2.5-i2i-preview"}
    assert profile_for("wanx-ast").submit_path == TEXT2IMAGE_PATH == "/services/aigc/text2image/image-synthesis"
    assert profile_for("wan2.5-i2i-preview").submit_path == IMAGE2IMAGE_PATH


def test_an_unknown_model_is_a_configuration_error_naming_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match=r"DASHSCOPE_MODEL 'wanx-v1' has no model profile.*wan2.5-i2i-preview, wanx-ast"
    ):
        profile_for("wanx-v1")


def test_an_unknown_model_stops_the_cold_start_before_any_client_is_made() -> None:
    with pytest.raises(ValueError, match="has no model profile"):
        Services.from_env({"DASHSCOPE_MODEL": "wanx-poster-generation-v1"})


# ---------------------------------------------------------------- wanx-ast: today's request, unchanged


def test_wanx_ast_request_is_the_original_body() -> None:
    request = profile_for("wanx-ast").build_request(FULL, BG, LOGO)
    assert list(request.input) == ["title", "subtitle", "text", "underlay", "logo", "image_url"]
    assert request.input == {
        "title": ["Spring Sale"],
        "subtitle": ["Up to 50% off"],
        "text": ["Shop now »"],
        "underlay": 1,
        "logo": LOGO,
        "image_url": BG,
    }
    assert request.parameters == {"n": 2, "temperature": 0.3}


def test_wanx_ast_leaves_out_empty_optional_fields() -> None:
    request = profile_for("wanx-ast").build_request(JobSpec(title=("A", "B")), BG, None)
    assert request.input == {"title": ["A", "B"], "underlay": 0, "image_url": BG}
    assert request.parameters == {"n": 1, "temperature": 0.7}
    assert profile_for("wanx-ast").ignored_fields == ()


# ---------------------------------------------------------------- wan2.5-i2i-preview


def test_wan25_request_quotes_every_string_and_puts_the_background_first() -> None:
    request = profile_for("wan2.5-i2i-preview").build_request(FULL, BG, None)
    assert set(request.input) == {"prompt", "images"}
    assert request.input["images"] == [BG]
    assert request.parameters == {"n": 2}
    prompt = request.input["prompt"]
    for text in ("“Spring Sale”", "“Up to 50% off”", "“Shop now »”"):
        assert prompt.count(text) == 1
    assert prompt.index("Spring Sale") < prompt.index("Up to 50% off") < prompt.index("Shop now")
    assert "exactly as given" in prompt and "Keep the picture" in prompt
    assert "image 2" not in prompt


def test_wan25_sends_the_logo_as_the_second_image_and_says_so() -> None:
    request = profile_for("wan2.5-i2i-preview").build_request(JobSpec(title=("Hi",)), BG, LOGO)
    assert request.input["images"] == [BG, LOGO]
    assert "logo from image 2" in request.input["prompt"]


def test_wan25_keeps_non_latin_text_and_quotes_verbatim() -> None:
    spec = JobSpec(title=("明天会更好",), text=('Say "hi" — ok?',))
    prompt = poster_prompt(spec, with_logo=False)
    assert "“明天会更好”" in prompt
    assert '“Say "hi" — ok?”' in prompt


def test_wan25_reports_the_fields_it_cannot_honour() -> None:
    assert profile_for("wan2.5-i2i-preview").ignored_fields == (
        "underlay",
        "temperature",
        "formats",
        "font_pairing",
        "accent_color",
    )


def test_wan25_refuses_text_that_would_be_truncated() -> None:
    long_spec = JobSpec(title=("x" * 300,) * 7)
    with pytest.raises(InvalidJobSpecError, match=r"too long for wan2\.5-i2i-preview") as info:
        profile_for("wan2.5-i2i-preview").build_request(long_spec, BG, None)
    assert info.value.code == "InvalidParameter"
    fits = JobSpec(title=("x" * 300,) * 4)
    prompt = profile_for("wan2.5-i2i-preview").build_request(fits, BG, None).input["prompt"]
    assert len(prompt) <= WAN25_PROMPT_MAX_CHARS


def test_the_spec_check_runs_the_same_rule_before_any_url_exists() -> None:
    profile = profile_for("wan2.5-i2i-preview")
    profile.check_spec(JobSpec(title=("x" * 300,) * 4))
    with pytest.raises(InvalidJobSpecError):
        profile.check_spec(JobSpec(title=("x" * 300,) * 7))
    # The logo line counts too: a spec that just fits without a logo does not fit with one.
    room = WAN25_PROMPT_MAX_CHARS - len(poster_prompt(JobSpec(title=("",)), with_logo=False))
    edge = JobSpec(title=("x" * room,))
    profile.check_spec(edge)
    with pytest.raises(InvalidJobSpecError):
        profile.check_spec(JobSpec(title=edge.title, logo_key="brand/logo.png"))
    profile_for("wanx-ast").check_spec(JobSpec(title=("x" * 300,) * 10))


# ---------------------------------------------------------------- results and quotas


def test_results_are_read_from_output_results() -> None:
    output: dict[str, Any] = {
        "results": [
            {"url": "https://r/0.png", "orig_prompt": "p"},
            {"code": "DataInspectionFailed", "message": "flagged", "url": ""},
            "junk",
        ]
    }
    assert task_results(output) == (
        ResultItem(url="https://r/0.png"),
        ResultItem(url=None, code="DataInspectionFailed", message="flagged"),
    )
    assert task_results({}) == ()
    for profile in PROFILES.values():
        assert profile.parse_results(output) == task_results(output)


def test_the_client_reads_results_with_the_profiles_parser() -> None:
    session = ScriptedSession([FakeResponse(200, {"output": {"task_status": "SUCCEEDED", "results": [{"x": 1}]}})])
    seen: list[Any] = []

    def parser(output: Any) -> tuple[ResultItem, ...]:
        seen.append(output)
        return (ResultItem(url="https://parsed/0.png"),)

    api = PosterApiClient(BASE, api_key=lambda: "k", session=session, parse_results=parser)  # type: ignore[arg-type]
    snapshot = api.query("t-1")
    assert snapshot.results == (ResultItem(url="https://parsed/0.png"),)
    assert seen == [{"task_status": "SUCCEEDED", "results": [{"x": 1}]}]


def test_quota_defaults_come_from_the_profile_and_the_environment_wins() -> None:
    for model, profile in PROFILES.items():
        settings = Settings.from_env({"DASHSCOPE_MODEL": model})
        assert (settings.max_in_progress, settings.submissions_per_second, settings.queries_per_second) == (
            profile.quota.max_in_progress,
            profile.quota.submissions_per_second,
            profile.quota.queries_per_second,
        )
    settings = Settings.from_env({"DASHSCOPE_MODEL": "wan2.5-i2i-preview", "MODEL_MAX_IN_PROGRESS": "3"})
    assert settings.max_in_progress == 3
    assert profile_for("wanx-ast").quota == profile_for("wanx-ast").quota.__class__(1, 2.0, 20.0)


# ---------------------------------------------------------------- submit_task, the network stubbed at requests


class PresigningStore:
    def __init__(self) -> None:
        self.presigned: list[str] = []

    def presign_get(self, bucket: str, key: str, **_: Any) -> str:
        self.presigned.append(key)
        return f"https://{bucket}.s3.amazonaws.com/{key}?X-Amz-Signature=s"


def submitted_body(model: str, spec: JobSpec) -> tuple[dict[str, Any], list[str]]:
    session = ScriptedSession([FakeResponse(200, ACCEPTED)])
    store = PresigningStore()
    services = SimpleNamespace(
        settings=Settings(model=model),
        store=store,
        api=PosterApiClient(BASE, api_key=lambda: "k", session=session),  # type: ignore[arg-type]
    )
    job = Job("j1", "a", model, ObjectRef("in", "incoming/a.jpg", "v1"), spec)
    task = submit_task(job, services)  # type: ignore[arg-type]
    assert task.task_id == "t-1"
    (call,) = session.calls
    assert call["headers"]["X-DashScope-Async"] == "enable"
    return {"url": call["url"], **call["json"]}, store.presigned


def test_submit_task_posts_wanx_ast_to_text2image() -> None:
    body, presigned = submitted_body("wanx-ast", JobSpec(title=("Hi",), logo_key="brand/logo.png"))
    assert body["url"] == BASE + TEXT2IMAGE_PATH
    assert body["model"] == "wanx-ast"
    assert body["input"]["image_url"].startswith("https://in.s3.amazonaws.com/incoming/a.jpg")
    assert body["input"]["logo"].startswith("https://in.s3.amazonaws.com/brand/logo.png")
    assert presigned == ["brand/logo.png", "incoming/a.jpg"]  # the background last: closest to the POST


def test_submit_task_posts_wan25_to_image2image() -> None:
    body, _ = submitted_body("wan2.5-i2i-preview", JobSpec(title=("Hi",), logo_key="brand/logo.png", n=3))
    assert body["url"] == BASE + IMAGE2IMAGE_PATH
    assert body["model"] == "wan2.5-i2i-preview"
    assert [url.split("?")[0] for url in body["input"]["images"]] == [
        "https://in.s3.amazonaws.com/incoming/a.jpg",
        "https://in.s3.amazonaws.com/brand/logo.png",
    ]
    assert "“Hi”" in body["input"]["prompt"]
    assert body["parameters"] == {"n": 3}


def test_a_job_parked_for_a_model_without_a_profile_fails_permanently() -> None:
    with pytest.raises(PermanentError) as info:
        submitted_body("wanx-v1", JobSpec(title=("Hi",)))
    assert info.value.code == "ModelProfileMissing"


# ---------------------------------------------------------------- the manifest says what was ignored


@pytest.mark.parametrize(("model", "ignored"), [("wan2.5-i2i-preview", ["underlay", "temperature"]), ("wanx-ast", [])])
def test_the_manifest_lists_the_ignored_spec_fields(model: str, ignored: list[str]) -> None:
    job = Job("j1", "a", model, ObjectRef("in", "incoming/a.jpg"), FULL)
    snapshot = TaskSnapshot(task_id="t-1", status=TaskStatus.SUCCEEDED)
    manifest = _manifest(job, ExecutionState(job, task=TaskRef("t-1", "r")), snapshot, [])
    assert manifest["model"] == model
    assert manifest["ignored_spec_fields"] == ignored
