"""Backgrounds that Submit lets through (it reads only their header and end marker) but the composer service
cannot use: each job ends as a failure record carrying the composer's code, the worker never crashes, and no
message reaches either dead-letter queue."""

from __future__ import annotations

import io
import json
import os
import struct
import uuid
import zlib
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from tests.conftest import fixture_image
from tests.e2e.composer_service.conftest import composer_names

if TYPE_CHECKING:
    from local_stack.stack import LocalStack, Outcome

pytestmark = pytest.mark.e2e

#: Over the composer's 50 MB cap on a background (``ComposerConfig.max_image_bytes``), under the stack's MaxInputBytes.
HUGE_BYTES = 51 * 1024 * 1024


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def corrupt_png() -> bytes:
    """A PNG whose header (640×427 RGB) and IEND are intact but whose pixel data is not zlib at all."""
    header = struct.pack(">IIBBBBB", 640, 427, 8, 2, 0, 0, 0)
    garbage = os.urandom(64 * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", garbage) + chunk(b"IEND", b"")


def huge_png() -> bytes:
    """The fixture photo as a valid PNG padded to 51 MB with a private ancillary chunk (decoders skip it)."""
    with Image.open(fixture_image("rocket.jpg")) as photo:
        buffer = io.BytesIO()
        photo.convert("RGB").save(buffer, format="PNG")
    png = buffer.getvalue()
    iend = png.rindex(b"IEND") - 4
    padding = HUGE_BYTES - len(png) - 12
    return png[:iend] + chunk(b"prVt", bytes(padding)) + png[iend:]


@pytest.fixture(scope="module")
def failures(stack: LocalStack) -> dict[str, Outcome]:
    tag = uuid.uuid4().hex[:8]
    stems = {"corrupt": f"cs-corrupt-{tag}", "huge": f"cs-huge-{tag}"}
    stack.upload(corrupt_png(), f"incoming/{stems['corrupt']}.png")
    stack.upload(huge_png(), f"incoming/{stems['huge']}.png")
    return {name: stack.wait_for_outcome(stem, timeout=90) for name, stem in stems.items()}


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        # the header passes inspection; the renderer cannot decode the pixels: the API's InvalidParameter
        ("corrupt", "InvalidParameter", "The image_url cannot be decoded as an image."),
        ("huge", "InvalidParameter", "The size of image_url exceeds the limit of 50MB."),
    ],
)
def test_an_unusable_background_ends_as_a_failure_record_with_the_composers_code(
    stack: LocalStack, failures: dict[str, Outcome], name: str, code: str, message: str
) -> None:
    # GIVEN a background Submit accepted (header and end marker fine) that the service cannot render
    result = failures[name]
    # THEN the job ended with a failure record carrying the service's code and message, from its task
    assert result.status == "FAILED"
    assert result.failure is not None
    assert (result.failure["code"], result.failure["message"]) == (code, message), result.failure
    task_id = result.failure["task_id"]
    item = stack.client("dynamodb").get_item(
        TableName=composer_names(stack)["task_table"], Key={"task_id": {"S": task_id}}
    )["Item"]
    assert (item["status"]["S"], item["code"]["S"]) == ("FAILED", code)
    # ... no poster was written and the service stored no result
    listed = stack.client("s3").list_objects_v2(Bucket=stack.output_bucket, Prefix=f"posters/{result.stem}/")
    assert [o["Key"] for o in listed.get("Contents", []) if not o["Key"].endswith("manifest.json")] == []
    stored = stack.client("s3").list_objects_v2(
        Bucket=composer_names(stack)["result_bucket"], Prefix=f"results/{task_id}/"
    )
    assert stored.get("KeyCount", 0) == 0


def test_no_failure_reached_a_dead_letter_queue(stack: LocalStack, failures: dict[str, Outcome]) -> None:
    # GIVEN both failures have ended
    names = composer_names(stack)
    # THEN the worker handled each task (no redelivery to the render DLQ) and Submit's DLQ is empty too
    assert stack.queue_depth(names["render_dlq"]) == 0
    assert stack.queue_depth(names["render_queue"]) == 0
    assert stack.dlq_messages() == []
    failed = [json.dumps(result.failure) for result in failures.values()]
    assert all("Traceback" not in text for text in failed)
