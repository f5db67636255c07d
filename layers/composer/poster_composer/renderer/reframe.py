"""Reframing a background to a requested size: crop to the target aspect around the subject, then scale.

The crop is the largest window of the target aspect (full width or full height of the image).  Along
the free axis it slides to the position that keeps the most of the protected regions' saliency (faces and
the subject: their eyes, mouth and outline weigh most, so a face larger than the window keeps its
features), then the most saliency overall (a slight pull to the centre breaks ties).  A strip (1:4, 4:1) too narrow
for the whole subject also weighs the room it leaves for text at one end, off the subject, as long as it
keeps a good part of what the best strip keeps of the subject; never on a photo with a face (the strip
stays on the face).  The window is then scaled
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
ROOM_ASPECT = 2.5  # strips at least this elongated (1:4, 4:1) also weigh the room they leave for text
ROOM_WEIGHT = 3.0  # weight of that room (the calmer end band) against the subject kept
ROOM_KEEP = 0.35  # but they keep at least this share of the best strip's part of the subject
ROOM_BAND = 0.3  # an end band's depth, as a share of the window's long side


def _kept(table: SummedArea, boxes: npt.NDArray[np.float64], total: float) -> npt.NDArray[np.float64]:
    """Share of a map's mass inside each box (boxes in small-copy pixels)."""
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    out: npt.NDArray[np.float64] = table.means(boxes) * area / max(total, 1e-9)
    return out


def _room(analysis: Analysis, boxes: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Room for text in each window (small-copy pixels): the calmer of its two end bands (``ROOM_BAND`` of its long
    side at either end), calm being the share off the protected regions times one minus the mean saliency."""
    x0, y0, x1, y1 = (boxes[:, i] for i in range(4))
    tall = (y1 - y0) >= (x1 - x0)
    depth = ROOM_BAND * np.where(tall, y1 - y0, x1 - x0)
    first = np.stack([x0, y0, np.where(tall, x1, x0 + depth), np.where(tall, y0 + depth, y1)], axis=-1)
    last = np.stack([np.where(tall, x0, x1 - depth), np.where(tall, y1 - depth, y0), x1, y1], axis=-1)
    calm = [(1.0 - analysis.protected_sat.means(b)) * (1.0 - analysis.saliency_sat.means(b)) for b in (first, last)]
    out: npt.NDArray[np.float64] = np.maximum(calm[0], calm[1])
    return out


def _has_faces(analysis: Analysis) -> bool:
    """Whether the image shows a face (``Analysis.faces_sat``: a frontal face the cascade found, however large, or a
    close-up's features)."""
    faces = analysis.faces_sat
    return faces is not None and faces.mean(0, 0, faces.width, faces.height) > 0.0


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
    if subject.any() and max(cw / ch, ch / cw) >= ROOM_ASPECT and not _has_faces(analysis):
        # A strip too narrow for the whole subject: keep at least ``ROOM_KEEP`` of the best strip's share of it,
        # and among those prefer the one leaving room for the text at one end.
        keeps = kept_subject >= ROOM_KEEP * float(np.max(kept_subject))
        score = np.where(keeps, score + ROOM_WEIGHT * _room(analysis, boxes), -np.inf)
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
