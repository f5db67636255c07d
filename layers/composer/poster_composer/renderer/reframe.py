"""Reframing a background to a requested size: crop to the target aspect around the subject, then scale.

The crop is the largest window of the target aspect (full width or full height of the image).  Along
the free axis it slides to the position that keeps the most of the protected regions' saliency (faces and
the subject: their eyes, mouth and outline weigh most, so a face larger than the window keeps its
features), then the most saliency overall (a slight pull to the centre breaks ties).  The window is then scaled
to exactly the requested size (down, or up only when the image is smaller than the request).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

from poster_composer.renderer.analysis import Analysis, SummedArea, analyse

POSITIONS = 97  # window positions tried along the free axis
SUBJECT_WEIGHT = 4.0  # weight of the protected saliency kept (faces, the subject) against all saliency kept
CENTRE_PULL = 0.02  # a small preference for the centred window


def _kept(table: SummedArea, boxes: npt.NDArray[np.float64], total: float) -> npt.NDArray[np.float64]:
    """Share of a map's mass inside each box (boxes in small-copy pixels)."""
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    out: npt.NDArray[np.float64] = table.means(boxes) * area / max(total, 1e-9)
    return out


def crop_box(analysis: Analysis, canvas: tuple[int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The crop window (full-resolution pixels) of ``size``'s aspect inside ``canvas``, around the subject.

    Example
    -------
    >>> crop_box(analyse(Image.new("RGB", (400, 200))), (400, 200), (100, 100))
    (100, 0, 300, 200)
    """
    w, h = canvas
    target = size[0] / size[1]
    if w / h > target:
        cw, ch = max(1, min(w, round(h * target))), h
    else:
        cw, ch = w, max(1, min(h, round(w / target)))
    steps = np.linspace(0.0, 1.0, POSITIONS)
    x0s, y0s = np.round(steps * (w - cw)), np.round(steps * (h - ch))
    boxes = np.stack([x0s, y0s, x0s + cw, y0s + ch], axis=-1) * analysis.scale
    subject = analysis.saliency**2 * analysis.protected_mask
    kept = _kept(analysis.saliency_sat, boxes, float(analysis.saliency.sum()))
    kept_subject = _kept(SummedArea(subject), boxes, float(subject.sum())) if subject.any() else 0.0
    score = SUBJECT_WEIGHT * kept_subject + kept - CENTRE_PULL * np.abs(2 * steps - 1)
    best = int(np.argmax(score))
    x0, y0 = int(x0s[best]), int(y0s[best])
    return x0, y0, x0 + cw, y0 + ch


def reframe(image: Image.Image, size: tuple[int, int], analysis: Analysis | None = None) -> Image.Image:
    """Return ``image`` cropped around its subject to ``size``'s aspect and scaled to exactly ``size``.

    Example
    -------
    >>> reframe(Image.new("RGB", (640, 480)), (300, 100)).size
    (300, 100)
    """
    if image.size == size:
        return image
    found = analysis if analysis is not None else analyse(image)
    box = crop_box(found, image.size, size)
    return image.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
