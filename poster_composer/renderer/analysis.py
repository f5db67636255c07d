"""Image analysis on a small copy: saliency, edge energy and calm, with summed-area tables.

The background is reduced to at most ``ANALYSIS_SIZE`` px on its long side.  On that copy:

- **saliency** (0–1): frequency-tuned distance of the blurred Lab colour from the image's mean colour,
  plus gradient energy above the image's own median (a uniform texture is not salient), times a weak
  centre prior, normalised to its peak (with a floor) and squared to sharpen it;
- **edges** (0–1): gradient magnitude of the lightness, on an absolute scale (busy = high);
- summed-area tables of both, so the mean over any box costs O(1).

Boxes are given in full-resolution pixel coordinates; ``Analysis.scale`` maps them to the small copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

ANALYSIS_SIZE = 256
Array = npt.NDArray[np.float64]


class SummedArea:
    """Summed-area table of a 2-D array: O(1) sums and means over axis-aligned boxes."""

    def __init__(self, values: Array) -> None:
        table = np.zeros((values.shape[0] + 1, values.shape[1] + 1), dtype=np.float64)
        table[1:, 1:] = values.cumsum(axis=0).cumsum(axis=1)
        self._table = table
        self.height: int = int(values.shape[0])
        self.width: int = int(values.shape[1])

    def mean(self, x0: float, y0: float, x1: float, y1: float) -> float:
        """Mean over the box ``[x0, x1) × [y0, y1)`` in table pixels (clipped, at least one pixel)."""
        ix0 = min(max(int(x0), 0), self.width - 1)
        iy0 = min(max(int(y0), 0), self.height - 1)
        ix1 = min(max(int(np.ceil(x1)), ix0 + 1), self.width)
        iy1 = min(max(int(np.ceil(y1)), iy0 + 1), self.height)
        t = self._table
        total = float(t[iy1, ix1] - t[iy0, ix1] - t[iy1, ix0] + t[iy0, ix0])
        area: int = (ix1 - ix0) * (iy1 - iy0)
        return total / area


@dataclass(frozen=True)
class Analysis:
    """Maps of a background, computed on a small copy.

    Attributes
    ----------
    scale:
        Small-copy pixels per full-resolution pixel.
    small:
        The small RGB copy.
    saliency, edges:
        Maps in [0, 1] with the small copy's shape.
    """

    scale: float
    small: Image.Image
    saliency: Array
    edges: Array
    saliency_sat: SummedArea
    edges_sat: SummedArea

    def _small_box(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        s = self.scale
        return box[0] * s, box[1] * s, box[2] * s, box[3] * s

    def mean_saliency(self, box: tuple[float, float, float, float]) -> float:
        """Mean saliency under a full-resolution box."""
        return self.saliency_sat.mean(*self._small_box(box))

    def mean_edges(self, box: tuple[float, float, float, float]) -> float:
        """Mean edge energy under a full-resolution box."""
        return self.edges_sat.mean(*self._small_box(box))


def small_copy(image: Image.Image, size: int = ANALYSIS_SIZE) -> tuple[Image.Image, float]:
    """Return an RGB copy at most ``size`` px on its long side, and its scale factor."""
    w, h = image.size
    factor = max(1, max(w, h) // (size * 2))
    reduced = image.reduce(factor) if factor > 1 else image
    rw, rh = reduced.size
    scale = min(1.0, size / max(rw, rh))
    target = (max(1, round(rw * scale)), max(1, round(rh * scale)))
    small = reduced.resize(target, Image.Resampling.BOX) if target != reduced.size else reduced.copy()
    return small, target[0] / w


def _blur(values: Array, radius: int) -> Array:
    """Approximate Gaussian blur: three box passes along each axis (edge-padded)."""
    if radius < 1:
        return values
    out = values
    k = 2 * radius + 1
    for axis in (0, 1):
        for _ in range(3):
            pad = [(0, 0), (0, 0)]
            pad[axis] = (radius + 1, radius)
            padded = np.pad(out, pad, mode="edge")
            c = padded.cumsum(axis=axis)
            out = (c[k:, :] - c[:-k, :]) / k if axis == 0 else (c[:, k:] - c[:, :-k]) / k
    return out


def _lab(rgb: Array) -> Array:
    """sRGB (0–255) to CIE Lab (D65)."""
    c = rgb / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    lab = np.empty_like(f)
    lab[..., 0] = 116 * f[..., 1] - 16
    lab[..., 1] = 500 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200 * (f[..., 1] - f[..., 2])
    out: Array = lab
    return out


def _gradient(values: Array) -> Array:
    gy, gx = np.gradient(values)
    out: Array = np.hypot(gx, gy)
    return out


def analyse(image: Image.Image) -> Analysis:
    """Compute saliency and edge maps of an RGB background.

    Parameters
    ----------
    image:
        The full-resolution RGB background.

    Returns
    -------
    Analysis
        Maps on a copy at most 256 px on its long side.

    Example
    -------
    >>> a = analyse(Image.new("RGB", (640, 480), "navy"))
    >>> round(a.mean_saliency((0, 0, 640, 480)), 3)
    0.0
    """
    small, scale = small_copy(image)
    rgb = np.asarray(small, dtype=np.float64)
    h, w = rgb.shape[:2]
    radius = max(1, round(max(h, w) / 128))
    lab = _lab(rgb)
    blurred = np.stack([_blur(lab[..., i], radius) for i in range(3)], axis=-1)
    mean = lab.reshape(-1, 3).mean(axis=0)
    ft = np.linalg.norm(blurred - mean, axis=-1)
    ft_n = ft / max(float(ft.max()), 40.0)

    grad = _blur(_gradient(_blur(lab[..., 0], radius)), radius * 2)
    med = float(np.median(grad))
    spread = max(float(np.percentile(grad, 99)) - med, 2.0)
    grad_n = np.clip((grad - med) / spread, 0.0, 1.0)

    yy, xx = np.mgrid[0:h, 0:w]
    centre = np.exp(-(((xx - (w - 1) / 2) / (0.45 * w)) ** 2 + ((yy - (h - 1) / 2) / (0.45 * h)) ** 2) / 2)
    saliency = _blur((0.6 * ft_n + 0.4 * grad_n) * (0.75 + 0.25 * centre), radius * 2)
    # Sharpen (square) so that large, merely colourful regions weigh less than the subject's peaks.
    saliency = np.clip(saliency / max(float(saliency.max()), 0.5), 0.0, 1.0) ** 2

    edges = np.clip(_blur(_gradient(lab[..., 0]), radius) / 12.0, 0.0, 1.0)
    return Analysis(scale, small, saliency, edges, SummedArea(saliency), SummedArea(edges))
