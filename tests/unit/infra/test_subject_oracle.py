"""``tools/subject_oracle.py``: the judge's subject reaches the renderer's analysis in the role asked for."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from poster_composer.renderer.analysis import analyse
from poster_composer.renderer.reframe import reframe
from poster_composer.renderer.source import load_background
from tests.conftest import fixture_image
from tools.subject_oracle import judged_map, judged_subject, seeing_the_judge


def _saucer_strip() -> Image.Image:
    """The coffee photo's 1:4 strip, as the gallery frames it: the saucer's rim, which the renderer reads as calm."""
    with Image.open(fixture_image("coffee.png")) as photo:
        return reframe(load_background(photo), (270, 1080))


def test_kept_clear_the_judges_subject_joins_the_protected_regions() -> None:
    # GIVEN a strip whose subject (the saucer) the renderer's own analysis leaves mostly unprotected
    strip = _saucer_strip()
    own = analyse(strip)
    subject = judged_subject(strip, own.protected_mask.shape)
    assert subject.mean() > 0.2 and own.protected_mask[subject].mean() < 0.5
    # WHEN analysed seeing the judge's subject as one to keep clear
    seen = seeing_the_judge("subject")(strip)
    # THEN all of it is protected
    assert seen.protected_mask[subject].all()


def test_as_the_figure_the_judges_subject_replaces_the_renderers() -> None:
    # GIVEN the same strip
    strip = _saucer_strip()
    # WHEN analysed seeing the judge's subject as the figure
    seen = seeing_the_judge("figure")(strip)
    # THEN the figure is the judge's subject, pixel for pixel
    subject = judged_subject(strip, seen.protected_mask.shape)
    assert seen.figure_sat is not None
    h, w = subject.shape
    assert seen.figure_sat.mean(0, 0, w, h) == pytest.approx(subject.mean())


def test_as_saliency_the_judges_map_joins_the_renderers_where_it_is_higher() -> None:
    # GIVEN the same strip, whose saucer the renderer's own saliency reads as calmer than the judge does
    strip = _saucer_strip()
    own = analyse(strip)
    judged = judged_map(strip, own.saliency.shape)
    subject = judged_subject(strip, own.saliency.shape)
    assert own.saliency[subject].mean() < judged[subject].mean()
    # WHEN analysed seeing the judge's map as saliency
    seen = seeing_the_judge("saliency")(strip)
    # THEN the saliency is the larger of the two maps, and the search's Occ reads it
    assert seen.saliency == pytest.approx(np.maximum(own.saliency, judged))
    h, w = subject.shape
    assert seen.saliency_sat.mean(0, 0, w, h) == pytest.approx(seen.saliency.mean())
    assert seen.protected_mask.tolist() == own.protected_mask.tolist()
