"""Box geometry shared by the layout, the scheme, the drawing and the checks (one place for each formula).

Boxes are ``(x0, y0, x1, y1)`` in canvas pixels, x1/y1 exclusive.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

Box = tuple[float, float, float, float]
IntBox = tuple[int, int, int, int]


def intersection(a: Box, b: Box) -> float:
    """Area of the intersection of two boxes (0 when they do not overlap)."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when they do not overlap or are empty).

    Example
    -------
    >>> iou((0, 0, 2, 2), (1, 0, 3, 2))
    0.3333333333333333
    """
    inter = intersection(a, b)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def overlap(boxes: Sequence[Box]) -> float:
    """PosterLayout ``Ove``: mean pairwise IoU of the boxes (0 for fewer than two)."""
    pairs = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :]]
    if not pairs:
        return 0.0
    return sum(iou(a, b) for a, b in pairs) / len(pairs)


def centred(boxes: Sequence[Box], canvas: tuple[int, int]) -> list[Box]:
    """The same boxes translated so that their union is centred on the canvas."""
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[2] for b in boxes)
    y1 = max(b[3] for b in boxes)
    dx = (canvas[0] - (x1 - x0)) / 2 - x0
    dy = (canvas[1] - (y1 - y0)) / 2 - y0
    return [(b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy) for b in boxes]


def expand(box: Box, by: float, canvas: tuple[int, int]) -> IntBox:
    """Integer box grown by ``by`` px on every side and clipped to the canvas."""
    return (
        max(0, math.floor(box[0] - by)),
        max(0, math.floor(box[1] - by)),
        min(canvas[0], math.ceil(box[2] + by)),
        min(canvas[1], math.ceil(box[3] + by)),
    )
