"""The renderer's face detector: OpenCV's frontal-face cascade evaluated with numpy.

It is checked against OpenCV's own ``CascadeClassifier`` (a dev dependency) running the same cascade, written
back to OpenCV's XML from the renderer's ``.npz``; against a face measured by hand; and through the analysis,
where dense skin tone with no face in it (a cup's lit rim, wood, launch-pad lamps) is no longer a face.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from PIL import Image

from poster_composer.renderer.analysis import analyse
from poster_composer.renderer.faces import (
    MASK_SHARE,
    MIN_NEIGHBOURS,
    SCALE_STEP,
    Box,
    Cascade,
    find_faces,
    frontal_face_cascade,
    group_rectangles,
    likely_faces,
)
from tests.unit.composer.conftest import PHOTOS, fixture_path
from tests.unit.composer.test_subject import ASTRONAUT_FACE

if TYPE_CHECKING:
    from pathlib import Path


def _iou(a: Box, b: Box) -> float:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _opencv_xml(cascade: Cascade) -> str:
    """The cascade in OpenCV's XML format (one feature per stump, in stump order)."""
    stages, start = [], 0
    for end, threshold in zip(cascade.stage_ends.tolist(), cascade.stage_thresholds.tolist(), strict=True):
        weak = "".join(
            f"<_><internalNodes>0 -1 {i} {float(cascade.thresholds[i])!r}</internalNodes>"
            f"<leafValues>{float(cascade.leaves[i, 0])!r} {float(cascade.leaves[i, 1])!r}</leafValues></_>"
            for i in range(start, end)
        )
        stages.append(
            f"<_><maxWeakCount>{end - start}</maxWeakCount><stageThreshold>{threshold!r}</stageThreshold>"
            f"<weakClassifiers>{weak}</weakClassifiers></_>"
        )
        start = end
    features = "".join(
        "<_><rects>"
        + "".join(
            f"<_>{x} {y} {w} {h} {float(weight)!r}</_>"
            for (x, y, w, h), weight in zip(rects.tolist(), weights.tolist(), strict=True)
            if weight != 0
        )
        + "</rects></_>"
        for rects, weights in zip(cascade.rects, cascade.weights, strict=True)
    )
    width, height = cascade.window
    return (
        '<?xml version="1.0"?><opencv_storage><cascade type_id="opencv-cascade-classifier">'
        f"<stageType>BOOST</stageType><featureType>HAAR</featureType><height>{height}</height><width>{width}</width>"
        "<stageParams><maxWeakCount>1</maxWeakCount></stageParams><featureParams><maxCatCount>0</maxCatCount>"
        f"</featureParams><stageNum>{len(stages)}</stageNum><stages>{''.join(stages)}</stages>"
        f"<features>{features}</features></cascade></opencv_storage>"
    )


@pytest.fixture(scope="module")
def opencv_detector(tmp_path_factory: pytest.TempPathFactory) -> Any:
    cv2 = pytest.importorskip("cv2")
    path: Path = tmp_path_factory.mktemp("cascade") / "frontalface_alt.xml"
    path.write_text(_opencv_xml(frontal_face_cascade()))
    detector = cv2.CascadeClassifier(str(path))
    assert not detector.empty()
    return detector


def _opencv_faces(detector: Any, grey: Image.Image) -> list[Box]:
    found = detector.detectMultiScale(np.asarray(grey), SCALE_STEP, MIN_NEIGHBOURS)
    return [(int(x), int(y), int(w), int(h)) for x, y, w, h in found]


def _grey(photo: str, long_side: int) -> Image.Image:
    with Image.open(fixture_path(photo)) as image:
        grey = image.convert("L")
    scale = long_side / max(grey.size)
    return grey.resize((round(grey.width * scale), round(grey.height * scale)), Image.Resampling.BILINEAR)


def _collage() -> Image.Image:
    """The astronaut three times at three sizes, one of them mirrored, on grey."""
    with Image.open(fixture_path("astronaut.png")) as image:
        astronaut = image.convert("L")
    canvas = Image.new("L", (640, 400), 128)
    canvas.paste(astronaut.resize((300, 300)), (0, 0))
    canvas.paste(astronaut.transpose(Image.Transpose.FLIP_LEFT_RIGHT).resize((160, 160)), (320, 20))
    canvas.paste(astronaut.crop((100, 0, 400, 300)).resize((120, 120)), (500, 250))
    return canvas


@pytest.mark.parametrize("long_side", [256, 384])
@pytest.mark.parametrize("photo", PHOTOS)
def test_finds_the_faces_opencv_finds_and_no_others(opencv_detector: Any, photo: str, long_side: int) -> None:
    # GIVEN a fixture photo in grey at an analysis size
    grey = _grey(photo, long_side)
    # WHEN both detectors scan it with the same cascade and settings
    theirs = _opencv_faces(opencv_detector, grey)
    ours = find_faces(grey)
    # THEN they find the same faces (the astronaut's; none in the others), to within a few pixels
    assert len(ours) == len(theirs), (ours, theirs)
    for box in theirs:
        assert max(_iou(box, mine) for mine in ours) >= 0.85, (box, ours)
    assert bool(ours) == (photo == "astronaut.png")


def test_finds_every_face_opencv_finds_in_a_collage(opencv_detector: Any) -> None:
    # GIVEN three faces at three sizes, one mirrored
    collage = _collage()
    theirs = _opencv_faces(opencv_detector, collage)
    # WHEN the renderer's detector scans it
    ours = find_faces(collage)
    # THEN each of OpenCV's three faces is found (ours may add a hit OpenCV's skipped windows miss)
    assert len(theirs) == 3
    for box in theirs:
        assert max(_iou(box, mine) for mine in ours) >= 0.85, (box, ours)


def test_the_face_matches_the_hand_measured_one() -> None:
    # GIVEN the astronaut at full size, her face measured by hand
    with Image.open(fixture_path("astronaut.png")) as image:
        grey = image.convert("L")
    x0, y0, x1, y1 = ASTRONAUT_FACE
    # WHEN the detector scans the whole photo
    faces = find_faces(grey)
    # THEN it finds that one face
    assert len(faces) == 1
    assert _iou(faces[0], (x0, y0, x1 - x0, y1 - y0)) >= 0.5, faces


def test_a_search_limited_to_no_pixels_finds_nothing() -> None:
    grey = _grey("astronaut.png", 256)
    assert find_faces(grey, np.zeros((grey.height, grey.width), dtype=bool)) == []


def test_a_search_limited_to_the_face_still_finds_it() -> None:
    # GIVEN the astronaut, searched only around her face's centre
    grey = _grey("astronaut.png", 256)
    where = np.zeros((grey.height, grey.width), dtype=bool)
    where[50:80, 100:130] = True
    # THEN the face is found, as in a full scan
    assert find_faces(grey, where) == find_faces(grey)


def test_grouping_keeps_clusters_of_more_than_three_hits_averaged() -> None:
    # GIVEN four hits around one place, three around another, and a lone one
    strong = [(100, 100, 40, 40), (102, 100, 40, 40), (100, 102, 40, 40), (102, 102, 44, 44)]
    weak = [(10, 10, 20, 20), (11, 10, 20, 20), (10, 11, 20, 20)]
    # WHEN grouped as OpenCV groups them
    faces = group_rectangles([*strong, *weak, (300, 300, 30, 30)])
    # THEN only the strong cluster remains, as its mean box
    assert faces == [(101, 101, 41, 41)]


def test_grouping_drops_a_small_cluster_inside_a_stronger_one() -> None:
    big = [(100, 100, 80, 80)] * 8
    small = [(120, 120, 30, 30)] * 4
    assert group_rectangles([*big, *small]) == [(100, 100, 80, 80)]


def test_grouping_matches_opencv_on_random_hits() -> None:
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(7)
    for _ in range(50):
        # GIVEN hits jittered around a few centres, as a scan leaves them
        hits: list[Box] = []
        for _centre in range(int(rng.integers(1, 5))):
            x, y, size = int(rng.integers(0, 200)), int(rng.integers(0, 200)), int(rng.integers(20, 80))
            for _hit in range(int(rng.integers(1, 9))):
                s = size + int(rng.integers(-4, 5))
                hits.append((x + int(rng.integers(-4, 5)), y + int(rng.integers(-4, 5)), s, s))
        # THEN the grouping is OpenCV's
        theirs, _weights = cv2.groupRectangles([list(h) for h in hits], MIN_NEIGHBOURS, 0.2)
        assert sorted(group_rectangles(hits)) == sorted(tuple(int(v) for v in box) for box in theirs)


@pytest.mark.parametrize(("photo", "has_face"), [("astronaut.png", True), ("coffee.png", False), ("rocket.jpg", False)])
def test_dense_skin_tone_is_a_face_only_where_a_face_is(photo: str, has_face: bool) -> None:
    # GIVEN photos with dense skin tone: a face; a cup's lit rim and wood; launch-pad lamps
    with Image.open(fixture_path(photo)) as image:
        analysis = analyse(image.convert("RGB"))
    faces = analysis.faces_sat
    assert faces is not None
    # THEN only the astronaut has faces, and they cover her hand-measured face
    share = faces.mean(0, 0, faces.width, faces.height)
    assert (share > 0) == has_face, share
    if has_face:
        x0, y0, x1, y1 = (v * analysis.scale for v in ASTRONAUT_FACE)
        assert faces.mean(x0, y0, x1, y1) >= 0.95


@pytest.mark.parametrize("photo", ["astronaut.png", "gravel.png", "coffee.png", "rocket.jpg"])
def test_a_black_and_white_photo_has_its_faces_found_too(photo: str) -> None:
    # GIVEN a photo in black and white: no skin tone to search on
    with Image.open(fixture_path(photo)) as image:
        analysis = analyse(image.convert("L").convert("RGB"))
    faces = analysis.faces_sat
    assert faces is not None
    # THEN the search looks where a first pass on a smaller copy found likely faces: the astronaut's face is
    # found and covered as in colour, and no face is found on the others
    share = faces.mean(0, 0, faces.width, faces.height)
    assert (share > 0) == (photo == "astronaut.png"), share
    if photo == "astronaut.png":
        x0, y0, x1, y1 = (v * analysis.scale for v in ASTRONAUT_FACE)
        assert faces.mean(x0, y0, x1, y1) >= 0.95


def test_likely_faces_cover_the_face_in_a_fraction_of_the_image() -> None:
    # GIVEN the astronaut in black and white at the analysis's size
    grey = _grey("astronaut.png", 256)
    # WHEN the first pass looks for likely faces on a copy half the size
    likely = likely_faces(grey)
    # THEN they hold the face the full scan finds, and little else
    ((x, y, w, h),) = find_faces(grey)
    assert likely[y + h // 4 : y + 3 * h // 4, x + w // 4 : x + 3 * w // 4].mean() >= MASK_SHARE
    assert likely.mean() < 0.1
    assert find_faces(grey, likely) == find_faces(grey)
