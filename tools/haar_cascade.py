"""Convert an OpenCV Haar cascade (XML, stump-based, upright features) into the renderer's compact ``.npz``.

The renderer's face detector (``poster_composer.renderer.faces``) evaluates OpenCV's trained frontal-face
cascade with numpy; OpenCV itself (about 170 MB unzipped) does not fit beside the ComposerLayer in Lambda's
250 MB.  The cascade ships as ``renderer/data/haarcascade_frontalface_alt.npz`` with OpenCV's licence beside
it.  The XML comes from any OpenCV 4 wheel (``cv2/data/``): ``pip download --no-deps --only-binary=:all:
opencv-python-headless==4.10.0.84`` and unzip it.

Usage: ``python tools/haar_cascade.py cv2/data/haarcascade_frontalface_alt.xml OUT.npz``
"""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

MAX_RECTS = 3


def _text(node: ET.Element, tag: str) -> str:
    found = node.find(tag)
    if found is None or found.text is None:
        raise SystemExit(f"the cascade has no <{tag}>")
    return found.text


def convert(xml: Path, out: Path) -> None:
    """Write the cascade's stages, stumps and features (in stump order) to ``out``."""
    cascade = ET.parse(xml).getroot()[0]
    if _text(cascade, "stageType") != "BOOST" or _text(cascade, "featureType") != "HAAR":
        raise SystemExit("only boosted Haar cascades are supported")
    features = [
        [[float(v) for v in (r.text or "").split()] for r in f.iter("_") if r.text and r.text.strip()]
        for f in cascade.iterfind("features/_/rects")
    ]
    if any(f.find("tilted") is not None and _text(f, "tilted").strip() == "1" for f in cascade.iterfind("features/_")):
        raise SystemExit("tilted features are not supported")
    stage_thresholds, stage_ends, stumps = [], [], []
    for stage in cascade.iterfind("stages/_"):
        for weak in stage.iterfind("weakClassifiers/_"):
            nodes = _text(weak, "internalNodes").split()
            leaves = [float(v) for v in _text(weak, "leafValues").split()]
            if len(nodes) != 4 or len(leaves) != 2:
                raise SystemExit("only stump cascades (one node per weak classifier) are supported")
            stumps.append((int(nodes[2]), float(nodes[3]), leaves[0], leaves[1]))
        stage_thresholds.append(float(_text(stage, "stageThreshold")))
        stage_ends.append(len(stumps))
    rects = np.zeros((len(stumps), MAX_RECTS, 4), dtype=np.int16)
    weights = np.zeros((len(stumps), MAX_RECTS), dtype=np.float32)
    for i, (feature, *_) in enumerate(stumps):
        for j, (x, y, w, h, weight) in enumerate(features[feature]):
            rects[i, j] = (x, y, w, h)
            weights[i, j] = weight
    np.savez_compressed(
        out,
        window=np.array([int(_text(cascade, "width")), int(_text(cascade, "height"))], dtype=np.int16),
        stage_thresholds=np.array(stage_thresholds, dtype=np.float32),
        stage_ends=np.array(stage_ends, dtype=np.int32),
        thresholds=np.array([s[1] for s in stumps], dtype=np.float32),
        leaves=np.array([(s[2], s[3]) for s in stumps], dtype=np.float32),
        rects=rects,
        weights=weights,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("xml", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    convert(args.xml, args.out)
    print(f"{args.out}: {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
