"""How much of the judge's verdict is perception?  The gallery rendered with the judge's own subject.

The renderer finds a photo's subject with its own analysis (``poster_composer.renderer.analysis``); the
independent judge (``poster_composer.judges``: ISNet, a salient-object detector) grades the posters on its own
map.  This oracle hands the judge's subject (its map over 0.5) to the renderer, renders the gallery's whole matrix
as ``make gallery`` does, and prints the same summary.  What stays over the judge's bound then is not a matter of
seeing the subject, but of what the layout does with it:

- ``--as figure``: the judge's subject replaces the renderer's figure (a subject's extent, avoided where there is
  room: ``search.ON_FIGURE``);
- ``--as subject``: it joins the renderer's main object, kept clear like a face (``Analysis.protected_mask``).

The reframing to each aspect ratio keeps the renderer's own analysis, so both runs compose the same canvases.

Usage: ``PYTHONPATH=layers/composer:layers/common:. python tools/subject_oracle.py OUTDIR --as figure``
(the judge's weights: ``tools/fetch_judge_model.py``); other options (``--fixtures DIR``) go to the gallery.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING
from unittest import mock

import numpy as np
from PIL import Image

from poster_composer import gallery
from poster_composer.judges import judge_maps
from poster_composer.renderer import analysis, compose

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    import numpy.typing as npt

    Mask = npt.NDArray[np.bool_]

JUDGE = "salient-object"
SUBJECT = 0.5  # the judge's map over this is its subject


def judged_subject(image: Image.Image, shape: tuple[int, ...]) -> Mask:
    """The judge's subject of ``image`` on a grid of ``shape`` (the analysis's small copy)."""
    judged = judge_maps(image, (JUDGE,))[JUDGE]
    if judged is None:
        raise SystemExit("the judge is not installed: the dev extra and tools/fetch_judge_model.py")
    grey = Image.fromarray(np.round(judged * 255).astype(np.uint8)).resize((shape[1], shape[0]))
    mask: Mask = np.asarray(grey) > SUBJECT * 255
    return mask


def seeing_the_judge(role: str) -> Callable[[Image.Image], analysis.Analysis]:
    """``analysis.analyse`` with the judge's subject in ``role`` (``figure`` or ``subject``)."""
    original, main_object = analysis.analyse, analysis._main_object

    def analyse(image: Image.Image) -> analysis.Analysis:
        def figure(faces: object, found: Mask, in_focus: object) -> Mask:
            return judged_subject(image, found.shape)

        def objects(saliency: npt.NDArray[np.float64], radius: int) -> Mask:
            return main_object(saliency, radius) | judged_subject(image, saliency.shape)

        patch: AbstractContextManager[object] = (
            mock.patch.object(analysis, "_figure", figure)
            if role == "figure"
            else mock.patch.object(analysis, "_main_object", objects)
        )
        with patch:
            return original(image)

    return analyse


def main(argv: list[str] | None = None) -> int:
    """Render the gallery with the judge's subject in the chosen role and print its summary."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir")
    parser.add_argument("--as", dest="role", choices=("figure", "subject"), required=True)
    args, gallery_args = parser.parse_known_args(argv)
    with mock.patch.object(compose, "analyse", seeing_the_judge(args.role)):
        return gallery.main([args.outdir, *gallery_args])


if __name__ == "__main__":
    sys.exit(main())
