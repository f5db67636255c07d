"""Bad uploads and bad events, end to end: each ends as a poster, a failure record with a specific code,
or (only what cannot be parsed) a DLQ message; nothing retries forever and nothing is lost.

Inputs are made here from the photos in ``events/samples/backgrounds`` or from code. All uploads go
in at once (a burst), then every outcome is awaited.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from tests.conftest import fixture_image
from tests.hostile import png_bomb

if TYPE_CHECKING:
    from collections.abc import Callable

    from local_stack.stack import LocalStack, Outcome

pytestmark = pytest.mark.e2e

POSTER = "POSTER"
IGNORED = "IGNORED"
DLQ = "DLQ"


def photo(name: str = "rocket.jpg") -> Image.Image:
    with Image.open(fixture_image(name)) as image:
        image.load()
        return image


def encode(image: Image.Image, fmt: str, **save: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    return encode(photo(), "JPEG", exif=exif.tobytes())


def animated(fmt: str) -> bytes:
    base = photo().resize((320, 214))
    frames = [base, base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


@dataclass(frozen=True)
class Case:
    """One kind of bad input: how to make it, and how it must end (POSTER, IGNORED, DLQ or a failure code)."""

    kind: str
    expect: str
    image: Callable[[], bytes] | None = None
    extension: str = ".jpg"
    sidecar: Any = None
    metadata: dict[str, str] | None = None
    stem_suffix: str = ""
    message: Callable[[LocalStack, str], str] | None = None  # a raw SQS body instead of an upload
    size: tuple[int, int] | None = None  # expected poster size


def jpeg() -> bytes:
    return fixture_image("rocket.jpg").read_bytes()


def s3_event(bucket: str, key: str, name: str = "ObjectCreated:Put") -> str:
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": name,
        "s3": {"bucket": {"name": bucket}, "object": {"key": key.replace(" ", "+"), "size": 1, "eTag": "0" * 32}},
    }
    return json.dumps({"Records": [record]})


CASES = [
    Case("zero-byte file", "EmptyImage", lambda: b""),
    Case("truncated JPEG", "TruncatedImage", lambda: jpeg()[: len(jpeg()) * 6 // 10]),
    Case("truncated PNG", "TruncatedImage", lambda: encode(photo(), "PNG")[:-5000], ".png"),
    Case("text file named .jpg", "NotAnImage", lambda: b"hello, I am not a picture\n" * 10),
    Case("PNG named .jpg (type from bytes)", POSTER, lambda: encode(photo(), "PNG")),
    Case("decompression bomb 30000x30000 PNG", "ImageTooManyPixels", png_bomb, ".png"),
    Case(
        "8000x8000 JPEG (fitted inside 3840x2160)",
        POSTER,
        lambda: encode(photo().resize((8000, 8000)), "JPEG", quality=70),
        size=(2160, 2160),
    ),
    Case("16x16 image", "ImageTooSmall", lambda: encode(photo().resize((16, 16)), "PNG"), ".png"),
    Case("CMYK JPEG", POSTER, lambda: encode(photo().convert("CMYK"), "JPEG"), size=(640, 427)),
    Case("palette PNG", POSTER, lambda: encode(photo().convert("P"), "PNG"), ".png", size=(640, 427)),
    Case("greyscale JPEG", POSTER, lambda: encode(photo().convert("L"), "JPEG"), size=(640, 427)),
    Case("animated PNG (first frame)", POSTER, lambda: animated("PNG"), ".png", size=(320, 214)),
    Case("animated GIF", "UnsupportedImageFormat", lambda: animated("GIF"), ".gif"),
    Case("WebP", "UnsupportedImageFormat", lambda: encode(photo(), "WEBP"), ".webp"),
    Case("EXIF-rotated JPEG (applied)", POSTER, rotated_jpeg, size=(427, 640)),
    Case("sidecar with invalid JSON", "InvalidSidecar", jpeg, sidecar=b"{title: oops"),
    Case("sidecar that is a JSON list", "InvalidSidecar", jpeg, sidecar=[{"title": "x"}]),
    Case("sidecar with an unknown field", "InvalidSidecar", jpeg, sidecar={"title": "x", "colour": "red"}),
    Case("title of the wrong type", "InvalidParameter", jpeg, sidecar={"title": 5}),
    Case("n of the wrong type", "InvalidParameter", jpeg, sidecar={"title": "x", "n": "many"}),
    Case("empty title list", "InvalidParameter", jpeg, sidecar={"title": []}),
    Case("n = 5", "InvalidParameter", jpeg, sidecar={"title": "x", "n": 5}),
    Case("10 000-character title", "InvalidParameter", jpeg, sidecar={"title": ["W" * 10_000]}),
    Case(
        "metadata n that is not a number", "InvalidParameter", jpeg, metadata={"poster-title": "x", "poster-n": "abc"}
    ),
    Case("control characters in the title", POSTER, jpeg, sidecar={"title": ["Sale\x00\x07\x1b[31m\u2028Now"]}),
    Case("logo that does not exist", "LogoMissing", jpeg, sidecar={"title": "x", "logo": "assets/missing.png"}),
    Case("key with spaces", POSTER, jpeg, stem_suffix=" with spaces"),
    Case("key with + signs", POSTER, jpeg, stem_suffix="+plus+signs"),
    Case("unicode key", POSTER, jpeg, stem_suffix="-海报-été-🎉"),
    Case("sidecar without an image", "SidecarWithoutImage", None, sidecar={"title": "alone"}),
    Case(
        "object deleted before processing",
        "SourceMissing",
        message=lambda stack, stem: s3_event(stack.input_bucket, f"incoming/{stem}.jpg"),
    ),
    Case("s3:TestEvent", IGNORED, message=lambda stack, stem: json.dumps({"Event": "s3:TestEvent", "Bucket": "b"})),
    Case(
        "ObjectRemoved event",
        IGNORED,
        message=lambda stack, stem: s3_event(stack.input_bucket, f"incoming/{stem}.jpg", "ObjectRemoved:Delete"),
    ),
    Case(
        "key outside the input prefix",
        IGNORED,
        message=lambda stack, stem: s3_event(stack.input_bucket, f"posters/{stem}.jpg"),
    ),
    Case("SQS message that is JSON but not an S3 event", DLQ, message=lambda stack, stem: json.dumps({"hi": stem})),
    Case("SQS message that is not JSON", DLQ, message=lambda stack, stem: f"not json at all {stem}"),
]


@dataclass
class Sent:
    case: Case
    stem: str
    body: str | None = None


@pytest.fixture(scope="module")
def sent(stack: LocalStack) -> dict[str, Sent]:
    tag = uuid.uuid4().hex[:6]
    sent: dict[str, Sent] = {}
    for index, case in enumerate(CASES):
        stem = f"bad-{index:02d}-{tag}{case.stem_suffix}"
        entry = Sent(case, stem)
        if case.message is not None:
            entry.body = case.message(stack, stem)
            stack.client("sqs").send_message(QueueUrl=stack.queue_url, MessageBody=entry.body)
        else:
            if case.sidecar is not None:
                raw = case.sidecar if isinstance(case.sidecar, bytes) else json.dumps(case.sidecar).encode()
                stack.upload(raw, f"incoming/{stem}.poster.json")
            if case.image is not None:
                stack.upload(case.image(), f"incoming/{stem}{case.extension}", metadata=case.metadata)
        sent[case.kind] = entry
    return sent


def ended(stack: LocalStack, entry: Sent) -> Outcome | None:
    if entry.case.expect in (IGNORED, DLQ):
        return None
    return stack.wait_for_outcome(entry.stem, timeout=240)


@pytest.mark.parametrize("case", CASES, ids=[case.kind for case in CASES])
def test_bad_input_ends_as_a_poster_a_specific_failure_or_nothing(
    stack: LocalStack, sent: dict[str, Sent], case: Case
) -> None:
    # GIVEN the bad input (uploaded or sent with all the others, as one burst)
    entry = sent[case.kind]
    # WHEN the pipeline has handled it
    result = ended(stack, entry)
    # THEN it ends as the case says
    if case.expect == POSTER:
        assert result is not None and result.status == "SUCCEEDED", result and result.failure
        assert result.manifest is not None
        key = result.manifest["results"][0]["key"]
        poster = stack.client("s3").get_object(Bucket=stack.output_bucket, Key=key)["Body"].read()
        if case.size is not None:
            assert Image.open(io.BytesIO(poster)).size == case.size
        title = result.manifest["spec"]["title"][0]
        assert title.isprintable()
    elif case.expect in (IGNORED, DLQ):
        assert not [e for e in stack.executions() if e.stem == entry.stem]
    else:
        assert result is not None and result.failure is not None, result
        assert result.failure["code"] == case.expect, result.failure
        assert result.failure["stage"] == "submit"
        assert result.executions == []


def test_only_unparseable_messages_reach_the_dlq_and_nothing_retries_forever(
    stack: LocalStack, sent: dict[str, Sent]
) -> None:
    # GIVEN every bad input of the burst has ended (the other tests waited for them)
    for entry in sent.values():
        ended(stack, entry)
    dlq_bodies = {entry.body for entry in sent.values() if entry.case.expect == DLQ}
    # WHEN the queues settle (a message that is retried comes back; bounded by maxReceiveCount)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if dlq_bodies <= set(stack.dlq_messages()) and stack.queue_depth(stack.queue_url) == 0:
            break
        time.sleep(1)
    # THEN exactly the unparseable messages are in the DLQ, the upload queue is empty,
    # and no execution of the burst is still running
    in_dlq = set(stack.dlq_messages())
    ours = {entry.body for entry in sent.values() if entry.body} | {None}
    assert dlq_bodies <= in_dlq
    assert not (in_dlq & (ours - dlq_bodies))
    assert stack.queue_depth(stack.queue_url) == 0
    stems = {entry.stem for entry in sent.values()}
    assert not [e.name for e in stack.executions() if e.stem in stems and e.status == "RUNNING"]
    print(f"\nbad-input kinds tried: {len(CASES)}")
    assert len(CASES) >= 25
