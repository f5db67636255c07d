"""PosterLayout (CVPR 2023) layout metrics of finished posters, from their layout reports.

Own implementation of the published definitions (as in CyberAgentAILab/RALF
``image2layout/train/helpers/metric.py``), with the renderer's panels as *underlays* and its title,
subtitle, text and logo boxes as the other elements; coordinates are normalised to the canvas.

- ``val``: share of elements whose area exceeds 0.1 % of the canvas (aggregated over all elements);
- ``ove``: mean pairwise IoU of the non-underlay elements (undefined below two elements);
- ``ali``: for each element, the smallest gap to another element over the six coordinates (left, centre,
  right, top, middle, bottom), as ``-log10(1 - gap)``, summed and divided by the element count;
- ``und_l`` / ``und_s``: per underlay, the largest share of an element's area it covers (loose) or
  whether it covers one element whole (strict), averaged over underlays;
- ``uti``: share of the non-salient mass (``1 - saliency``) inside the union of all element boxes;
- ``occ``: mean saliency inside that union;
- ``rea``: mean Sobel gradient magnitude (normalised by its maximum, on a copy 750 px on its long side)
  under text boxes, minus underlay areas.

Saliency comes from the caller (a map in [0, 1] of any size), so that the renderer's own map and an
independent estimator can both be used.  Also here: the *presence* measures of issue #10 (the title's
first line height over the short side; the share of the canvas covered by the text block).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from poster_composer.renderer.geometry import intersection

if TYPE_CHECKING:
    from collections.abc import Iterable

Array = npt.NDArray[np.float64]
Box = tuple[float, float, float, float]
TEXT_ROLES = ("title", "subtitle", "text")
REA_SIZE = 750
METRIC_NAMES = ("val", "ove", "ali", "und_l", "und_s", "uti", "occ", "rea")
# DS-GAN on the PKU PosterLayout test set (PKU-ICST-MIPL/PosterLayout-CVPR2023, output/results.txt).
DS_GAN_PKU = {
    "val": 0.879,
    "ove": 0.022,
    "ali": 0.0046,
    "und_l": 0.832,
    "und_s": 0.432,
    "uti": 0.254,
    "occ": 0.209,
    "rea": 0.187,
}


def _normalised(layout: dict[str, Any]) -> tuple[list[Box], list[str]]:
    w, h = layout["canvas"]
    boxes, roles = [], []
    for element in layout["elements"]:
        x0, y0, x1, y1 = element["box"]
        boxes.append((x0 / w, y0 / h, x1 / w, y1 / h))
        roles.append(element["role"])
    return boxes, roles


def _area(b: Box) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def overlay(boxes: list[Box]) -> float | None:
    """``Ove``: mean IoU over ordered pairs of distinct boxes (``None`` below two)."""
    if len(boxes) < 2:
        return None
    values = []
    for i, a in enumerate(boxes):
        for j, b in enumerate(boxes):
            if i != j:
                inter = intersection(a, b)
                union = _area(a) + _area(b) - inter
                values.append(inter / union if union > 0 else 0.0)
    return sum(values) / len(values)


def alignment(boxes: list[Box]) -> float | None:
    """``Ali``: LayoutGAN++ alignment over the six coordinates (``None`` without elements)."""
    if not boxes:
        return None
    coords = np.array([[b[0], (b[0] + b[2]) / 2, b[2], b[1], (b[1] + b[3]) / 2, b[3]] for b in boxes])
    if len(boxes) == 1:
        return 0.0
    gaps = np.abs(coords[:, None, :] - coords[None, :, :])  # (element, other, coordinate)
    idx = np.arange(len(boxes))
    gaps[idx, idx, :] = 1.0
    smallest = gaps.min(axis=(1, 2))
    smallest[smallest >= 1.0] = 0.0
    return float((-np.log10(1.0 - smallest)).sum() / len(boxes))


def underlay_effectiveness(boxes: list[Box], underlay: list[bool]) -> tuple[float | None, float | None]:
    """(``Und_L``, ``Und_S``) averaged over underlays; ``None`` without underlays or other elements."""
    loose, strict = [], []
    for i, panel in enumerate(boxes):
        if not underlay[i]:
            continue
        shares = [intersection(panel, b) / _area(b) for j, b in enumerate(boxes) if not underlay[j] and _area(b) > 0]
        loose.append(max(shares, default=0.0))
        strict.append(1.0 if any(s >= 1.0 - 1e-6 for s in shares) else 0.0)
    if not loose or len(boxes) < 2:
        return None, None
    return sum(loose) / len(loose), sum(strict) / len(strict)


def _mask(boxes: Iterable[Box], shape: tuple[int, int]) -> npt.NDArray[np.bool_]:
    h, w = shape
    mask = np.zeros((h, w), dtype=bool)
    for x0, y0, x1, y1 in boxes:
        mask[round(y0 * h) : round(y1 * h), round(x0 * w) : round(x1 * w)] = True
    return mask


def occlusion(boxes: Iterable[Box], saliency: Array) -> float | None:
    """``Occ`` of ``boxes`` (shares of the canvas): the mean of ``saliency`` (any grid) under their union
    (``None`` when they cover none of its pixels)."""
    return _mean_under(saliency, _mask(boxes, saliency.shape))


def _mean_under(values: Array, mask: npt.NDArray[np.bool_]) -> float | None:
    return float(values[mask].mean()) if mask.any() else None


def gradient_map(background: Image.Image) -> Array:
    """Sobel gradient magnitude of the grey background on a copy ``REA_SIZE`` px long, over its maximum."""
    scale = REA_SIZE / max(background.size)
    size = (max(1, round(background.width * scale)), max(1, round(background.height * scale)))
    grey = np.asarray(background.convert("L").resize(size, Image.Resampling.BILINEAR), dtype=np.float64)
    padded = np.pad(grey, 1, mode="edge")
    gx = (padded[:-2, 2:] + 2 * padded[1:-1, 2:] + padded[2:, 2:]) - (
        padded[:-2, :-2] + 2 * padded[1:-1, :-2] + padded[2:, :-2]
    )
    gy = (padded[2:, :-2] + 2 * padded[2:, 1:-1] + padded[2:, 2:]) - (
        padded[:-2, :-2] + 2 * padded[:-2, 1:-1] + padded[:-2, 2:]
    )
    magnitude = np.sqrt((gx * gx + gy * gy) / 2)
    peak = float(magnitude.max())
    out: Array = magnitude / peak if peak > 0 else magnitude
    return out


def poster_scores(layout: dict[str, Any], saliency: Array, gradients: Array) -> dict[str, float | None]:
    """The PosterLayout metrics of one poster (``val`` as a (valid, total) pair folded into a share).

    ``saliency`` and ``gradients`` are maps of the background in [0, 1], any size.
    """
    boxes, roles = _normalised(layout)
    underlay = [role == "panel" for role in roles]
    others = [b for b, u in zip(boxes, underlay, strict=True) if not u]
    union = _mask(boxes, saliency.shape)
    inverse = 1.0 - saliency
    und_l, und_s = underlay_effectiveness(boxes, underlay)
    text = _mask([b for b, r in zip(boxes, roles, strict=True) if r in TEXT_ROLES], gradients.shape)
    text &= ~_mask([b for b, u in zip(boxes, underlay, strict=True) if u], gradients.shape)
    return {
        "val": sum(_area(b) > 1e-3 for b in boxes) / len(boxes) if boxes else None,
        "ove": overlay(others),
        "ali": alignment(boxes),
        "und_l": und_l,
        "und_s": und_s,
        "uti": float((inverse * union).sum() / max(float(inverse.sum()), 1e-9)) if boxes else None,
        "occ": _mean_under(saliency, union),
        "rea": float(gradients[text].mean()) if text.any() else 0.0,
    }


def aggregate(scores: Iterable[dict[str, float | None]]) -> dict[str, float]:
    """Mean of each metric over the posters where it is defined (NaN where it never is)."""
    collected: dict[str, list[float]] = {name: [] for name in METRIC_NAMES}
    for score in scores:
        for name in METRIC_NAMES:
            value = score.get(name)
            if value is not None:
                collected[name].append(value)
    return {name: (sum(v) / len(v) if v else math.nan) for name, v in collected.items()}


def title_presence(layout: dict[str, Any]) -> float:
    """Ink height of the first title's first line over the canvas's short side (0 without a title)."""
    for element in layout["elements"]:
        if element["role"] == "title" and element["lines"]:
            _, y0, _, y1 = element["lines"][0]["box"]
            return float(y1 - y0) / float(min(layout["canvas"]))
    return 0.0


def block_coverage(layout: dict[str, Any]) -> float:
    """Share of the canvas covered by the union of the element and panel boxes (the text block)."""
    w, h = layout["canvas"]
    boxes, _ = _normalised(layout)
    shape = (min(h, 400), min(w, 400))
    return float(_mask(boxes, shape).mean()) if boxes else 0.0


def panel_fills(layout: dict[str, Any]) -> list[float]:
    """Per panel (not scrims or logo chips): the area of the elements it backs ÷ its own area (issue #10: the
    text fills its panel, ≥ 35 %)."""
    elements = layout["elements"]
    fills = []
    for panel in (e for e in elements if e.get("kind") == "panel"):
        x0, y0, x1, y1 = panel["box"]
        inner = sum(
            (elements[i]["box"][2] - elements[i]["box"][0]) * (elements[i]["box"][3] - elements[i]["box"][1])
            for i in panel["backs"]
        )
        fills.append(inner / max((x1 - x0) * (y1 - y0), 1))
    return fills


def comparison_table(ours: dict[str, float]) -> str:
    """Our aggregated metrics beside DS-GAN's published PKU figures, as a text table."""
    lines = [f"{'metric':<7} {'ours':>8} {'DS-GAN':>8}"]
    for name in METRIC_NAMES:
        lines.append(f"{name:<7} {ours[name]:>8.4f} {DS_GAN_PKU[name]:>8.4f}")
    return "\n".join(lines)
