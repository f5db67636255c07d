"""How low can the independent judge's Occ go on the gallery's canvases?  An oracle lower bound.

For each fixture photo × aspect ratio of the gallery (reframed as the gallery does, 1080 px on the long side),
a judge's own saliency map (``poster_composer.judges``, which the renderer never sees) is searched
exhaustively for the calmest axis-aligned box of a given share of the canvas (widths 25–90 % of the canvas,
the height following from the area).  Its mean saliency is the lowest ``judge Occ`` any single text block of
that size could reach on that canvas, by construction of the metric (mean saliency under the union of boxes).

Usage: ``PYTHONPATH=layers/composer:layers/common:. python tools/judge_oracle.py [--estimator NAME]``
(``salient-object``, the default, ``fine-grained`` or ``spectral-residual``: the opinions the gallery reports).

It prints, per canvas, the best box's mean saliency at 12 %, 20 % and 30 % of the canvas, then the median of
each over the canvases: the issue's goal (a median ≤ 0.15 over the gallery) against what any layout could do.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import numpy.typing as npt
from PIL import Image

from poster_composer.gallery import ASPECTS, canvas_size, fixtures_dir
from poster_composer.judges import JUDGES, judge_maps
from poster_composer.renderer.reframe import reframe
from poster_composer.renderer.source import load_background

AREAS = (0.12, 0.2, 0.3)
WIDTHS = tuple(float(w) for w in np.linspace(0.25, 0.9, 14))


def calmest_box(saliency: npt.NDArray[np.float64], area: float) -> float:
    """Lowest mean of ``saliency`` over any box covering ``area`` of it (widths ``WIDTHS`` of its width)."""
    h, w = saliency.shape
    table = np.zeros((h + 1, w + 1))
    table[1:, 1:] = saliency.cumsum(axis=0).cumsum(axis=1)
    best = float("inf")
    for share in WIDTHS:
        bw = int(share * w)
        bh = int(area * w * h / max(bw, 1))
        if bw < 1 or bh < 3 or bh > 0.9 * h:
            continue
        sums = table[bh:, bw:] - table[:-bh, bw:] - table[bh:, :-bw] + table[:-bh, :-bw]
        best = min(best, float(sums.min()) / (bw * bh))
    return best


def main(argv: list[str] | None = None) -> int:
    """Print the oracle bound per canvas and its median over the gallery's canvases."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--estimator", choices=tuple(JUDGES), default=next(iter(JUDGES)))
    estimator = parser.parse_args(argv).estimator
    bounds: dict[float, list[float]] = {area: [] for area in AREAS}
    for photo in sorted(p for p in fixtures_dir().iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg")):
        for aspect, ratio in ASPECTS.items():
            with Image.open(photo) as source:
                background = reframe(load_background(source), canvas_size(ratio, 1080))
            judge = judge_maps(background, (estimator,))[estimator]
            if judge is None:
                print("the judge is not installed: the dev extra and tools/fetch_judge_model.py", file=sys.stderr)
                return 1
            found = {area: calmest_box(judge, area) for area in AREAS}
            for area, value in found.items():
                bounds[area].append(value)
            print(photo.stem, aspect, " ".join(f"{area:.0%}: {value:.3f}" for area, value in found.items()))
    for area, values in bounds.items():
        print(f"median over canvases of the calmest {area:.0%} box: {float(np.median(values)):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
