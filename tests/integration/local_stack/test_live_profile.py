"""Engine=dashscope with the live profile (``wan2.5-i2i-preview``), the composer's local server standing in.

The pipeline builds the image-editing request (prompt + images) and posts it to the image2image path; the
stand-in validates it as the live model would and renders the poster the prompt describes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from local_stack.stack import LocalStack
from tests.conftest import fixture_image

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    parameters = {"Engine": "dashscope", "ModelName": "wan2.5-i2i-preview", "PollSchedule": "0", "MaxWaitSeconds": "60"}
    with LocalStack(parameters=parameters, composer_config={"submissions_per_second": 20}) as local:
        yield local


def test_a_live_profile_job_becomes_a_poster(stack: LocalStack) -> None:
    stack.upload(fixture_image("rocket.jpg"), "incoming/live/rocket.jpg", {"poster-title": "Launch day"})

    outcome = stack.wait_for_outcome("live/rocket", timeout=90)

    assert outcome.status == "SUCCEEDED", outcome.failure
    assert outcome.manifest is not None
    assert outcome.manifest["model"] == "wan2.5-i2i-preview"
    assert outcome.manifest["ignored_spec_fields"] == ["underlay", "temperature"]
    # Only the image2image route takes this model (text2image answers "Model not exist.").
    assert stack.composer_stats()["submissions"] == {"total": 1, "accepted": 1, "rejected": {}}
