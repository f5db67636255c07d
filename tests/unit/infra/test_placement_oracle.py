"""``tools/placement_oracle.py``: the renderer's layout space graded by both judges."""

from __future__ import annotations

import numpy as np
import pytest

from poster_composer import gallery
from tools.placement_oracle import Graded, report, searched, union_mean


def test_the_union_of_overlapping_boxes_counts_each_pixel_once() -> None:
    # GIVEN a map bright on its left half, on a grid a quarter of the canvas's size
    saliency = np.zeros((25, 50))
    saliency[:, :25] = 1.0
    # WHEN two boxes overlap on the bright half and one reaches into the dark half
    boxes = [(0.0, 0.0, 80.0, 40.0), (40.0, 0.0, 120.0, 40.0)]
    # THEN the mean is over their union (120 × 40 px: 100 px wide bright, 20 dark), not over each box
    assert union_mean(saliency, boxes, (200, 100)) == pytest.approx(100 / 120)


def test_the_report_names_the_largest_title_that_clears_both_judges() -> None:
    found = [
        Graded("stack", 0.12, (0.5, 0.1)),  # the largest title, but on the judge's subject
        Graded("split", 0.09, (0.2, 0.3)),
        Graded("free", 0.04, (0.01, 0.05)),
    ]
    line = report("p.jpg", found)
    assert "2 of 3 clear both" in line and "0.0900" in line and "split" in line


def test_the_report_says_when_no_candidate_clears_both() -> None:
    line = report("p.jpg", [Graded("stack", 0.1, (0.5, 0.1)), Graded("free", 0.05, (0.3, 0.4))])
    assert "none of 2 clears both" in line and "ISNet 0.300" in line


def test_the_search_is_read_as_the_renderer_ran_it() -> None:
    # GIVEN the gallery's coffee 1:4 strip with the long Chinese set
    case = next(c for c in gallery.cases(gallery.fixtures_dir()) if c.name == "coffee_1x4_zh-long_u0.jpg")
    # WHEN rendered through the oracle
    rendered, analysis, request = searched(case, None)
    # THEN it is the gallery's poster, and the request is the one its search got: the canvas and every paragraph
    assert rendered.poster is not None and rendered.background.size == request.canvas == (270, 1080)
    assert analysis.saliency.shape == (256, 64)
    texts = gallery.TEXT_SETS["zh-long"]
    assert [p.text for p in request.paragraphs] == [*texts["title"], *texts["subtitle"], *texts["text"]]
