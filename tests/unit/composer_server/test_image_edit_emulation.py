"""The composer emulates ``wan2.5-i2i-preview``: the pipeline's own prompt reads back into the poster it asks for."""

from __future__ import annotations

import json
from typing import Any

from poster_common.models import JobSpec
from poster_common.profiles import poster_prompt
from poster_composer.api import EDIT_PATH, ComposerApp, HttpRequest
from poster_composer.faults import ComposerConfig
from poster_composer.image_edit import synthesis_from_edit
from poster_composer.validation import ImageEditRequest


def test_the_pipelines_prompt_reads_back_into_its_strings() -> None:
    spec = JobSpec(title=("Spring Sale", "春季 “特卖”"), subtitle=("Everything 20% off",), text=("SHOP NOW",))
    edit = ImageEditRequest(
        model="wan2.5-i2i-preview",
        prompt=poster_prompt(spec, with_logo=True),
        images=("https://in.example/bg.png", "https://in.example/logo.png"),
        n=2,
    )

    request = synthesis_from_edit(edit)

    assert request.title == spec.title
    assert request.subtitle == spec.subtitle
    assert request.text == spec.text
    assert (request.image_url, request.logo, request.n) == (
        "https://in.example/bg.png",
        "https://in.example/logo.png",
        2,
    )


def test_a_free_form_prompt_becomes_the_title() -> None:
    edit = ImageEditRequest(
        model="wan2.5-i2i-preview", prompt="  Put HELLO on it ", images=("https://x.example/a.png",)
    )

    assert synthesis_from_edit(edit).title == ("Put HELLO on it",)


def test_the_edit_route_validates_like_the_live_model() -> None:
    app = ComposerApp(ComposerConfig(api_key="sk-test"))
    headers = {"authorization": "Bearer sk-test", "x-dashscope-async": "enable", "content-type": "application/json"}
    body: dict[str, Any] = {
        "model": "wan2.5-i2i-preview",
        "input": {"prompt": "Title: “Hi”", "images": []},
        "parameters": {"n": 1},
    }

    response = app.handle(HttpRequest("POST", EDIT_PATH, headers=headers, body=json.dumps(body).encode()))

    assert response.status == 400
    assert json.loads(response.body)["code"] == "InvalidParameter"
    body["input"]["images"] = ["https://in.example/bg.png"]
    accepted = app.handle(HttpRequest("POST", EDIT_PATH, headers=headers, body=json.dumps(body).encode()))
    assert accepted.status == 200
    assert json.loads(accepted.body)["output"]["task_status"] == "PENDING"
