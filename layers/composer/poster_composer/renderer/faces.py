"""Frontal faces, found by OpenCV's trained Haar cascade evaluated with numpy (Viola & Jones).

OpenCV's ``CascadeClassifier.detectMultiScale`` does this, but OpenCV (about 170 MB unzipped) does not fit
beside Pillow, numpy and the fonts in Lambda's 250 MB; its frontal-face cascade is 38 kB
(``data/haarcascade_frontalface_alt.npz``, made by ``tools/haar_cascade.py``, OpenCV's licence beside it).

The scan is OpenCV's: an image pyramid in steps of ``SCALE_STEP`` (1.2, where OpenCV's default is 1.1: half
the levels); the cascade's window at every second pixel (every pixel once the image is reduced more than
twice); each window's features divided by its standard deviation; the raw hits grouped as ``groupRectangles``
groups them, a face needing more than ``MIN_NEIGHBOURS`` hits.  Two differences: the pyramid is resized by
Pillow, and no window is skipped after a neighbour the first stage rejected (a shortcut of OpenCV's), so there
may be a few more raw hits.  ``tests/unit/composer/test_faces.py`` compares the faces found with OpenCV's own,
with the same settings, on photos.  The renderer searches only windows whose central half lies on dense skin
tone (``where``), a few milliseconds on a 256 px copy; in a black-and-white photo, which has no skin tone, only
where a first pass on a copy half the size found likely faces (``likely_faces``, about 25 ms more).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

Array = npt.NDArray[np.float64]
Box = tuple[int, int, int, int]  # x, y, width, height
Indices = npt.NDArray[np.int64]
CASCADE = Path(__file__).with_name("data") / "haarcascade_frontalface_alt.npz"
SCALE_STEP = 1.2
MIN_NEIGHBOURS = 3
GROUP_EPS = 0.2
MASK_SHARE = 0.5  # a searched window's central half lies at least this much on the search mask
COARSE_FACTOR = 2  # without skin tone to search on, a first pass on a copy this many times smaller


@dataclass(frozen=True)
class Cascade:
    """A boosted cascade of stumps over upright Haar features (one row per stump, in stage order)."""

    window: tuple[int, int]
    stage_thresholds: npt.NDArray[np.float32]
    stage_ends: npt.NDArray[np.int32]
    thresholds: npt.NDArray[np.float32]
    leaves: npt.NDArray[np.float32]  # (stumps, 2): the value below the threshold, the value at or above it
    rects: Indices  # (stumps, 3, 4): x, y, width, height in the window
    weights: npt.NDArray[np.float32]  # (stumps, 3); 0 for a feature's missing third rectangle


@functools.cache
def frontal_face_cascade() -> Cascade:
    """OpenCV's ``haarcascade_frontalface_alt`` (20 × 20 window, 22 stages, 2135 stumps)."""
    with np.load(CASCADE) as data:
        width, height = (int(v) for v in data["window"])
        return Cascade(
            (width, height),
            data["stage_thresholds"],
            data["stage_ends"],
            data["thresholds"],
            data["leaves"],
            data["rects"].astype(np.int64),
            data["weights"],
        )


@dataclass(frozen=True)
class SearchMask:
    """A search mask as an integral image (``table``: one row and column more than the mask)."""

    table: npt.NDArray[np.int32]
    height: int
    width: int

    @classmethod
    def of(cls, mask: npt.NDArray[np.bool_]) -> SearchMask:
        return cls(integral_image(mask, np.int32), int(mask.shape[0]), int(mask.shape[1]))


@dataclass(frozen=True)
class _Windows:
    """Every window of the pyramid: sums are read from ``table``, one integral image per level laid end to end."""

    table: Array
    base: Indices  # flat index of each window's top-left corner in ``table``
    stride: Indices  # row length of its level's integral image
    inverse_norm: Array  # 1 / (area × standard deviation) of each window
    boxes: Indices  # (windows, 4) in the input's pixels


def integral_image(values: npt.NDArray[Any], dtype: type[np.number[Any]] = np.float64) -> npt.NDArray[Any]:
    """The summed-area table of a 2-D array (summed in ``dtype``), with a row and a column of zeros in front."""
    table = np.zeros((values.shape[0] + 1, values.shape[1] + 1), dtype=dtype)
    table[1:, 1:] = values.cumsum(axis=0, dtype=dtype).cumsum(axis=1, dtype=dtype)
    return table


def _box_sums(table: Array, base: Indices, stride: Indices, rect: Indices) -> Array:
    """Sums over ``rect`` (x, y, w, h; one per column) in every window (one per row)."""
    x, y, w, h = rect[..., 0], rect[..., 1], rect[..., 2], rect[..., 3]
    top_left = base[:, None] + y * stride[:, None] + x
    bottom = h * stride[:, None]
    out: Array = table[top_left + bottom + w] - table[top_left + w] - table[top_left + bottom] + table[top_left]
    return out


def _centred_on(
    where: SearchMask, ys: Indices, xs: Indices, window: tuple[int, int], factor: float
) -> tuple[Indices, Indices]:
    """The windows (top-left corners on a level reduced ``factor`` times) whose central half, where a face has
    its eyes, nose and mouth, lies at least ``MASK_SHARE`` in ``where``."""
    ww, wh = window
    y0 = np.minimum(((ys + wh / 4) * factor).astype(np.int64), where.height - 1)
    x0 = np.minimum(((xs + ww / 4) * factor).astype(np.int64), where.width - 1)
    y1 = np.maximum(np.minimum(((ys + 3 * wh / 4) * factor).astype(np.int64), where.height), y0 + 1)
    x1 = np.maximum(np.minimum(((xs + 3 * ww / 4) * factor).astype(np.int64), where.width), x0 + 1)
    table = where.table
    inside = table[y1, x1] - table[y0, x1] - table[y1, x0] + table[y0, x0] >= MASK_SHARE * (y1 - y0) * (x1 - x0)
    return ys[inside], xs[inside]


@dataclass(frozen=True)
class _Level:
    """The windows of one pyramid level: the integral images of the part of the level they cover."""

    table: Array
    squares: Array
    base: Indices  # each window's top-left corner, as a flat index into ``table``
    stride: int
    boxes: Indices  # (windows, 4) in the input's pixels


def _level(
    gray: Image.Image, factor: float, size: tuple[int, int], ys: Indices, xs: Indices, window: tuple[int, int]
) -> _Level:
    """The windows at ``ys``, ``xs`` of ``gray`` reduced ``factor`` times to ``size``; only the part of the level
    that they cover is resized and integrated (the same pixels as a crop of the whole level)."""
    ww, wh = window
    y0, x0, y1, x1 = int(ys.min()), int(xs.min()), int(ys.max()) + wh, int(xs.max()) + ww
    sx, sy = gray.width / size[0], gray.height / size[1]
    part = gray.resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR, box=(x0 * sx, y0 * sy, x1 * sx, y1 * sy))
    values = np.asarray(part, dtype=np.float64)
    boxes = np.empty((ys.size, 4), dtype=np.int64)
    boxes[:, 0], boxes[:, 1] = np.round(xs * factor), np.round(ys * factor)
    boxes[:, 2:] = round(ww * factor), round(wh * factor)
    stride = x1 - x0 + 1
    return _Level(
        integral_image(values).ravel(),
        integral_image(values * values).ravel(),
        (ys - y0) * stride + xs - x0,
        stride,
        boxes,
    )


def _windows(gray: Image.Image, where: SearchMask | None, window: tuple[int, int]) -> _Windows:
    """The pyramid's windows centred on ``where`` (all when ``None``)."""
    ww, wh = window
    levels: list[_Level] = []
    factor = 1.0
    # A window's central half (ww·wh/4 px on its level, that times factor² in the image) must lie MASK_SHARE on
    # the mask: once that is more than the whole mask, no larger window can.
    largest = np.inf if where is None else float(where.table[-1, -1]) / (MASK_SHARE * ww * wh / 4)
    while (
        (sw := round(gray.width / factor)) >= ww and (sh := round(gray.height / factor)) >= wh and factor**2 <= largest
    ):
        step = 1 if factor > 2 else 2
        ys, xs = (grid.ravel() for grid in np.mgrid[0 : sh - wh + 1 : step, 0 : sw - ww + 1 : step])
        if where is not None:
            ys, xs = _centred_on(where, ys, xs, window, factor)
        if ys.size:
            levels.append(_level(gray, factor, (sw, sh), ys, xs, window))
        factor *= SCALE_STEP
    if not levels:
        empty = np.zeros(0, dtype=np.int64)
        return _Windows(np.zeros(1), empty, empty, np.zeros(0), np.zeros((0, 4), dtype=np.int64))
    offsets = np.cumsum([0] + [level.table.size for level in levels[:-1]])
    base = np.concatenate([offset + level.base for offset, level in zip(offsets, levels, strict=True)])
    stride = np.concatenate([np.full(level.base.size, level.stride) for level in levels])
    table = np.concatenate([level.table for level in levels])
    inner = np.array([[1, 1, ww - 2, wh - 2]])
    total = _box_sums(table, base, stride, inner)[:, 0]
    squared = _box_sums(np.concatenate([level.squares for level in levels]), base, stride, inner)[:, 0]
    spread = (ww - 2) * (wh - 2) * squared - total * total
    norm = np.where(spread > 0, np.sqrt(np.maximum(spread, 0.0)), 1.0)
    return _Windows(table, base, stride, 1.0 / norm, np.concatenate([level.boxes for level in levels]))


def _passing(windows: _Windows, cascade: Cascade) -> Indices:
    """Indices of the windows that pass every stage."""
    alive = np.arange(windows.base.size)
    start = 0
    for end, stage_threshold in zip(cascade.stage_ends.tolist(), cascade.stage_thresholds.tolist(), strict=True):
        if not alive.size:
            break
        base, stride = windows.base[alive], windows.stride[alive]
        value = np.zeros((alive.size, end - start))
        for r in range(cascade.rects.shape[1]):
            weights = cascade.weights[start:end, r]
            if weights.any():
                value += weights * _box_sums(windows.table, base, stride, cascade.rects[start:end, r])
        value *= windows.inverse_norm[alive, None]
        leaves = cascade.leaves[start:end]
        score = np.where(value < cascade.thresholds[start:end], leaves[:, 0], leaves[:, 1]).sum(axis=1)
        alive = alive[score >= stage_threshold]
        start = end
    return alive


def _similar(a: Box, b: Box, eps: float) -> bool:
    delta = eps * (min(a[2], b[2]) + min(a[3], b[3])) * 0.5
    return (
        abs(a[0] - b[0]) <= delta
        and abs(a[1] - b[1]) <= delta
        and abs(a[0] + a[2] - b[0] - b[2]) <= delta
        and abs(a[1] + a[3] - b[1] - b[3]) <= delta
    )


def group_rectangles(hits: list[Box], min_neighbours: int = MIN_NEIGHBOURS, eps: float = GROUP_EPS) -> list[Box]:
    """OpenCV's ``groupRectangles``: cluster similar hits, average each cluster of more than ``min_neighbours``,
    and drop a cluster lying inside a stronger one."""
    label = list(range(len(hits)))

    def root(i: int) -> int:
        while label[i] != i:
            label[i] = label[label[i]]
            i = label[i]
        return i

    for i in range(len(hits)):
        for j in range(i):
            if _similar(hits[i], hits[j], eps):
                label[root(i)] = root(j)
    clusters: dict[int, list[Box]] = {}
    for i, hit in enumerate(hits):
        clusters.setdefault(root(i), []).append(hit)
    strong = [(_mean(cluster), len(cluster)) for cluster in clusters.values() if len(cluster) > min_neighbours]
    return [
        box
        for i, (box, hits) in enumerate(strong)
        if not any(_inside(box, hits, other, n, eps) for j, (other, n) in enumerate(strong) if j != i)
    ]


def _mean(boxes: list[Box]) -> Box:
    x, y, w, h = (round(sum(values) / len(boxes)) for values in zip(*boxes, strict=True))
    return x, y, w, h


def _inside(box: Box, hits: int, other: Box, other_hits: int, eps: float) -> bool:
    dx, dy = round(other[2] * eps), round(other[3] * eps)
    return (
        box[0] >= other[0] - dx
        and box[1] >= other[1] - dy
        and box[0] + box[2] <= other[0] + other[2] + dx
        and box[1] + box[3] <= other[1] + other[3] + dy
        and (other_hits > max(3, hits) or hits < 3)
    )


def likely_faces(gray: Image.Image, factor: int = COARSE_FACTOR) -> npt.NDArray[np.bool_]:
    """Where faces may be when there is no skin tone to look for (a black-and-white photo): the windows that pass
    the whole cascade on a copy reduced ``factor`` times (a quarter of the windows for 2; the hits ungrouped), as a mask
    of the image's shape.  Faces smaller than ``factor`` windows are missed; the full search then looks only here.
    """
    cascade = frontal_face_cascade()
    coarse = gray.reduce(factor) if min(gray.size) >= factor * cascade.window[1] else gray
    scale = gray.width / coarse.width
    windows = _windows(coarse, None, cascade.window)
    out = np.zeros((gray.height, gray.width), dtype=bool)
    for x, y, w, h in windows.boxes[_passing(windows, cascade)].tolist():
        out[round(y * scale) : round((y + h) * scale), round(x * scale) : round((x + w) * scale)] = True
    return out


def find_faces(gray: Image.Image, where: npt.NDArray[np.bool_] | None = None) -> list[Box]:
    """Frontal faces in a greyscale image, as boxes (x, y, width, height) in its pixels.

    ``where`` (the image's shape), when given, limits the search to windows whose central half lies mostly
    on it: the renderer looks only where skin tone is dense, which keeps the scan to a few milliseconds.
    """
    cascade = frontal_face_cascade()
    if where is not None and not where.any():
        return []
    windows = _windows(gray, None if where is None else SearchMask.of(where), cascade.window)
    hits = [(int(x), int(y), int(w), int(h)) for x, y, w, h in windows.boxes[_passing(windows, cascade)]]
    return group_rectangles(hits)
