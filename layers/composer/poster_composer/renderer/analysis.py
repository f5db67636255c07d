"""Image analysis on a small copy: saliency, edge energy and calm, with summed-area tables.

The background is reduced to at most ``ANALYSIS_SIZE`` px on its long side.  On that copy:

- **saliency** (0–1), the larger of three maps:

  - *contrast*: frequency-tuned distance of the blurred Lab colour from the image's mean colour, gradient
    energy above the image's own median (a uniform texture is not salient) and centre-surround colour
    contrast (an object against its local surround), times a weak centre prior, normalised to its peak
    (with a floor) and squared to sharpen it;
  - *enclosure* (object-ness): the contrast map's smallest "rim" along the four axis directions, so that
    the plain inside of an object (a cup's coffee, a face's cheeks) counts as part of it;
  - *skin prior* (faces and people): the local density of skin-tone pixels (a soft ellipse in YCbCr
    chroma, excluding dark pixels), weighted out when skin tones cover most of the image (then they are
    the scene's colour, not a person: a close-up of fur, wood or sand);
  - *subject hull*: when the strongest peaks (eyes, nose, a face) lie in one compact region, the box
    around them, grown by a fifth and feathered — the whole face is the subject, not only its eyes;

- **protected** (0/1): faces (frontal faces found by OpenCV's Haar cascade where skin tone is dense, with the
  dense skin tone of their heads, grown a little: ``faces``; in black and white, where a first pass found likely
  faces, with their whole heads), the subject hull and the main object (the
  salient regions with their enclosed insides, when they form an object rather than specks over a
  texture) or, in a close-up, its features (a salient core too small for an object but gathered in one
  part of the frame: a cat's eyes and nose), which the layout keeps every element and panel off whenever
  it can.  A close-up's features, in front of a blurred background, are its face: like faces, no text may
  touch them (``faces_sat``).  In a portrait (a face found) the face is the subject: the salient parts of the
  body and the background are not protected (they still cost ``Occ``), so a title may sit over the body, as on
  a film poster, when nothing better is free;
- **figure** (0/1): the rest of what a viewer sees as the subject, which text avoids where there is room (it costs,
  it is not forbidden): in a portrait, the body under each face (``BODY_WIDTH`` face widths wide, down to the
  frame's foot); in a close-up with a defocused part (a shallow depth of field), what is in focus (the whole cat,
  not its blurred surroundings); otherwise the convex hull of the main object (a cup, its spoon and the rim of its
  saucer make the cup on its saucer);
- **edges** (0–1): gradient magnitude of the lightness, on an absolute scale (busy = high);
- summed-area tables of both, so the mean over any box costs O(1).

Boxes are given in full-resolution pixel coordinates; ``Analysis.scale`` maps them to the small copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from poster_composer.renderer.faces import Box, find_faces, integral_image, likely_faces
from poster_composer.renderer.morphology import dilate

if TYPE_CHECKING:
    from collections.abc import Sequence

ANALYSIS_SIZE = 256
Array = npt.NDArray[np.float64]


class SummedArea:
    """Summed-area table of a 2-D array: O(1) sums and means over axis-aligned boxes."""

    def __init__(self, values: Array) -> None:
        self._table = integral_image(values)
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

    def means(self, boxes: Array) -> Array:
        """``mean`` of many boxes at once: ``boxes`` is ``(..., 4)`` in table pixels; same clipping."""
        x0, y0, x1, y1 = (boxes[..., i] for i in range(4))
        ix0 = np.clip(np.trunc(x0).astype(np.int64), 0, self.width - 1)
        iy0 = np.clip(np.trunc(y0).astype(np.int64), 0, self.height - 1)
        ix1 = np.minimum(np.maximum(np.ceil(x1).astype(np.int64), ix0 + 1), self.width)
        iy1 = np.minimum(np.maximum(np.ceil(y1).astype(np.int64), iy0 + 1), self.height)
        t = self._table
        total = t[iy1, ix1] - t[iy0, ix1] - t[iy1, ix0] + t[iy0, ix0]
        out: Array = total / ((ix1 - ix0) * (iy1 - iy0))
        return out


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
    saliency_sat, edges_sat, protected_sat:
        Summed-area tables of the saliency, the edges and the protected (face) mask.
    protected_mask:
        The protected regions (faces, the subject hull) on the small copy.
    faces_sat:
        Summed-area table of the faces alone (the cascade's faces and their heads' skin tone), which weigh most
        and no text may touch; in a close-up (no face, no object, a blurred background), its features (a cat's
        eyes and nose) stand for them.
    figure_sat:
        Summed-area table of the figure (a portrait's body, a close-up's part in focus, the main object's hull).
    """

    scale: float
    small: Image.Image
    saliency: Array
    edges: Array
    saliency_sat: SummedArea
    edges_sat: SummedArea
    protected_sat: SummedArea
    protected_mask: npt.NDArray[np.bool_]
    faces_sat: SummedArea | None = None
    figure_sat: SummedArea | None = None

    def _small_box(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        s = self.scale
        return box[0] * s, box[1] * s, box[2] * s, box[3] * s

    def mean_saliency(self, box: tuple[float, float, float, float]) -> float:
        """Mean saliency under a full-resolution box."""
        return self.saliency_sat.mean(*self._small_box(box))

    def protected(self, box: tuple[float, float, float, float]) -> float:
        """Share of a full-resolution box covering a protected region (a face)."""
        return self.protected_sat.mean(*self._small_box(box))

    def face(self, box: tuple[float, float, float, float]) -> float:
        """Share of a full-resolution box covering a face."""
        return self.faces_sat.mean(*self._small_box(box)) if self.faces_sat else 0.0

    def figure(self, box: tuple[float, float, float, float]) -> float:
        """Share of a full-resolution box on the figure."""
        return self.figure_sat.mean(*self._small_box(box)) if self.figure_sat else 0.0

    def mean_edges(self, box: tuple[float, float, float, float]) -> float:
        """Mean edge energy under a full-resolution box."""
        return self.edges_sat.mean(*self._small_box(box))

    def occupancy(self, boxes: Sequence[tuple[float, float, float, float]]) -> float:
        """PosterLayout ``Occ``: mean saliency under full-resolution boxes (0 when there are none)."""
        if not boxes:
            return 0.0
        return sum(self.mean_saliency(b) for b in boxes) / len(boxes)


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


def _box_pass(values: Array, radius: int, axis: int) -> Array:
    """Mean over a window of ``2 * radius + 1`` along ``axis`` (edge-replicated), by cumulative sums.

    The padded copy is summed in place; ``(h, w, c)`` stacks are summed down their rows one row at a time
    (the same sequential additions as ``cumsum``, but over whole contiguous rows).
    """
    k = 2 * radius + 1
    n = values.shape[axis]
    shape = list(values.shape)
    shape[axis] = n + k
    padded = np.empty(shape, dtype=np.float64)
    if axis == 0:
        padded[: radius + 1] = values[:1]
        padded[radius + 1 : radius + 1 + n] = values
        padded[radius + 1 + n :] = values[n - 1 :]
        if padded.ndim == 3:
            for i in range(1, n + k):
                np.add(padded[i], padded[i - 1], out=padded[i])
        else:
            np.cumsum(padded, axis=0, out=padded)
        out: Array = padded[k:] - padded[:-k]
    else:
        padded[:, : radius + 1] = values[:, :1]
        padded[:, radius + 1 : radius + 1 + n] = values
        padded[:, radius + 1 + n :] = values[:, n - 1 :]
        np.cumsum(padded, axis=1, out=padded)
        out = padded[:, k:] - padded[:, :-k]
    out /= k
    return out


def _blur(values: Array, radius: int) -> Array:
    """Approximate Gaussian blur: three box passes along each of the first two axes (edge-padded).

    Works on ``(h, w)`` maps and on ``(h, w, c)`` stacks (each channel blurred alike).
    """
    if radius < 1:
        return values
    out = values
    for axis in (0, 1):
        for _ in range(3):
            out = _box_pass(out, radius, axis)
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


SKIN_CB, SKIN_CR = 110.0, 152.0  # centre of the skin-tone ellipse in YCbCr chroma (8-bit)
SKIN_RB, SKIN_RR = 16.0, 14.0  # its half-axes
SKIN_WEIGHT = 0.85
ENCLOSURE_WEIGHT = 0.6
HULL_WEIGHT = 0.45
HULL_PEAK = 0.5  # peaks: at least half the map's maximum
HULL_MAX_AREA = 0.3  # peaks spread over more than this share of the image are no compact subject
HULL_GROW = 0.2  # the subject extends past its peaks (a face past its eyes) by this share of the box
PROTECT_SKIN = 0.45
COLOURLESS_CHROMA = 6.0  # an image whose chroma (YCbCr, 8-bit) stays under this for 95 % of its pixels has no colour
HEAD_GROW = (0.4, 0.6, 0.4, 0.4)  # a head around its face box (left, top, right, bottom, as shares of the box)
OBJECT_PEAKS = (0.45, 0.55, 0.65, 0.75)  # the main object: saliency at least this share of the peak (the first
# level at which it is no larger than ``OBJECT_MAX_AREA``: a close-up's object is its most salient core)
OBJECT_MIN_AREA = 0.04  # below, the salient parts are specks (stars, pebbles), not an object
OBJECT_MAX_AREA = 0.35  # above, salience is spread over the frame: no single object to keep clear
FEATURE_MIN_AREA = 0.02  # a close-up's features (eyes, a nose): a core this large at least, under FEATURE_MAX_AREA
FEATURE_MAX_AREA = 0.08  # (a larger core is an object in its own right),
FEATURE_MAX_SPAN = 0.6  # gathered in a box of at most this share of the frame
FEATURE_MAX_SPREAD = 0.48  # with a spread (std of rows + std of columns, relative) of at most this
UPRIGHT_MAX_WIDTH = 0.25  # an upright object's dominant columns span at most this share of the width
UPRIGHT_EDGE = 0.08  # and its body above the salient part keeps at least this edge energy per row
UPRIGHT_STANDOUT = 2.0  # over wide objects, its columns above them are at least this many times the median
UPRIGHT_WEIGHT = 0.6  # the saliency given to that body (salient: text may still touch it)
UPRIGHT_TIP = 0.35  # but its top (a rocket's nose cone), this share of its height, is protected
FEATURE_GROW = 0.035  # the features' air, as a share of the short side
DEFOCUSED = 0.15  # a close-up has a defocused part when a tenth of it has this little detail (of its 95th pct)
IN_FOCUS = 0.35  # and is in focus where its detail reaches this share of the 95th percentile
BODY_WIDTH = 4.0  # a portrait's body under its face, in face widths


def _hull(values: Array) -> Array:
    """A box (0/1) around the map's peaks, grown by ``HULL_GROW``, when they are compact; else zeros."""
    out = np.zeros_like(values)
    if float(values.max()) <= 0.0:
        return out
    peaks = values >= HULL_PEAK * float(values.max())
    rows, cols = np.flatnonzero(peaks.any(axis=1)), np.flatnonzero(peaks.any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    if (y1 - y0) * (x1 - x0) > HULL_MAX_AREA * values.size:
        return out
    gy, gx = round(HULL_GROW * (y1 - y0)), round(HULL_GROW * (x1 - x0))
    y0, y1, x0, x1 = max(0, y0 - gy), y1 + gy, max(0, x0 - gx), x1 + gx
    out[y0:y1, x0:x1] = 1.0
    return out


def _coarse_blur(values: Array, radius: int, factor: int = 4) -> Array:
    """A wide blur computed on a copy reduced ``factor`` times (block means), expanded back by repetition."""
    h, w = values.shape[:2]
    if radius < 2 * factor or h < 4 * factor or w < 4 * factor:
        return _blur(values, radius)
    hh, ww = -(-h // factor) * factor, -(-w // factor) * factor
    padded = np.concatenate([values, np.broadcast_to(values[-1:], (hh - h, *values.shape[1:]))], axis=0)
    padded = np.concatenate([padded, np.broadcast_to(padded[:, -1:], (hh, ww - w, *values.shape[2:]))], axis=1)
    reduced = padded.reshape(hh // factor, factor, ww // factor, factor, *values.shape[2:]).mean(axis=(1, 3))
    coarse = _blur(reduced, max(1, round(radius / factor)))
    out: Array = np.repeat(np.repeat(coarse, factor, axis=0), factor, axis=1)[:h, :w]
    return out


def _enclosure(values: Array) -> Array:
    """For each pixel, the weakest of the strongest values met walking left, right, up and down."""
    left = np.maximum.accumulate(values, axis=1)
    right = np.maximum.accumulate(values[:, ::-1], axis=1)[:, ::-1]
    up = np.maximum.accumulate(values, axis=0)
    down = np.maximum.accumulate(values[::-1], axis=0)[::-1]
    out: Array = np.minimum(np.minimum(left, right), np.minimum(up, down))
    return out


def _skin(ycc: Array, radius: int) -> Array:
    """Density of skin-tone pixels (0–1) of a YCbCr array, zero when skin tones are the image's dominant colour."""
    u = (ycc[..., 1] - SKIN_CB) / SKIN_RB
    v = (ycc[..., 2] - SKIN_CR) / SKIN_RR
    skin = np.clip(1.5 - (u * u + v * v), 0.0, 1.0) * np.clip((ycc[..., 0] - 50.0) / 30.0, 0.0, 1.0)
    weight = float(np.clip((0.4 - float(skin.mean())) / 0.25, 0.0, 1.0))
    if weight <= 0.0:
        return np.zeros_like(skin)
    density: Array = np.clip(_blur(skin, radius * 3) / 0.5, 0.0, 1.0) * weight
    return density


def _head(face: Box) -> tuple[slice, slice]:
    """The rows and columns of the head around a face box: ``HEAD_GROW`` past each side."""
    x, y, w, h = face
    left, top, right, bottom = HEAD_GROW
    rows = slice(max(0, round(y - top * h)), round(y + (1 + bottom) * h))
    return rows, slice(max(0, round(x - left * w)), round(x + (1 + right) * w))


def _colourless(ycc: Array) -> bool:
    """Whether a YCbCr array has no colour to speak of (black and white, or nearly): no skin tone to find faces by."""
    chroma = np.hypot(ycc[..., 1] - 128.0, ycc[..., 2] - 128.0)
    return float(np.percentile(chroma, 95)) < COLOURLESS_CHROMA


def _faces(
    small: Image.Image, dense_skin: npt.NDArray[np.bool_] | None, radius: int
) -> tuple[npt.NDArray[np.bool_], list[Box]]:
    """Faces: each frontal face the cascade finds where skin tone is dense, with the dense skin tone of its head
    (hair and chin in skin tone, out to ``HEAD_GROW``).  Dense skin tone with no face in it (a cup's lit rim,
    wood, a lamp) is no face: it stays salient through the skin prior, no more.  A black-and-white photo
    (``dense_skin`` None) has no skin tone: there the search looks where a first pass on a smaller copy found likely
    faces, and the whole head around each face is kept."""
    gray = small.convert("L")
    out = np.zeros((gray.height, gray.width), dtype=bool)
    found = find_faces(gray, likely_faces(gray) if dense_skin is None else dense_skin)
    for x, y, w, h in found:
        rows, cols = _head((x, y, w, h))
        out[rows, cols] |= True if dense_skin is None else dense_skin[rows, cols]
        out[y : y + h, x : x + w] = True
    grown: npt.NDArray[np.bool_] = dilate(out, radius * 2)
    return grown, found


def _bodies(faces: list[Box], shape: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    """The body under each face: from below the head to the frame's foot, ``BODY_WIDTH`` face widths wide."""
    out = np.zeros(shape, dtype=bool)
    for x, y, w, h in faces:
        top = round(y + (1 + HEAD_GROW[3]) * h)
        side = round((BODY_WIDTH - 1) / 2 * w)
        out[top:, max(0, x - side) : x + w + side] = True
    return out


def _figure(
    faces: list[Box], main_object: npt.NDArray[np.bool_], in_focus: npt.NDArray[np.bool_] | None
) -> npt.NDArray[np.bool_]:
    """The figure (see the module doc): a portrait's bodies, a close-up's part in focus, or the main object's hull."""
    if faces:
        return _bodies(faces, main_object.shape)
    if in_focus is not None:
        return in_focus
    return _convex_hull(main_object)


def _in_focus(lightness: Array, radius: int) -> npt.NDArray[np.bool_] | None:
    """Where a photo is in focus, when part of it is not (a shallow depth of field: what is sharp is the subject):
    fine detail (lightness less its 1 px blur), spread, at least ``IN_FOCUS`` of its 95th percentile; ``None`` when
    nothing is out of focus (``DEFOCUSED``)."""
    detail = _blur(np.abs(lightness - _blur(lightness, 1)), radius * 3)
    detail /= max(float(np.percentile(detail, 95)), 1e-6)
    if float(np.percentile(detail, 10)) > DEFOCUSED:
        return None
    focused: npt.NDArray[np.bool_] = detail >= IN_FOCUS
    return focused


def _convex_hull(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """The convex hull of a mask, filled: an object's silhouette is close to the hull of its salient parts (a cup,
    its spoon and the rim of its saucer make the whole cup on its saucer)."""
    if int(mask.sum()) < 2:
        return mask  # nothing, or a single pixel: its own hull
    rows = np.flatnonzero(mask.any(axis=1))
    firsts = mask[rows].argmax(axis=1)
    lasts = mask.shape[1] - 1 - mask[rows, ::-1].argmax(axis=1)
    points = sorted({(int(x), int(y)) for y, *ends in zip(rows, firsts, lasts, strict=True) for x in ends})
    hull = _chain(points)[:-1] + _chain(points[::-1])[:-1]  # Andrew's monotone chain: lower half, then upper
    filled = Image.new("1", (mask.shape[1], mask.shape[0]), 0)
    ImageDraw.Draw(filled).polygon(hull if len(hull) > 2 else points, fill=1, outline=1)
    return np.asarray(filled, dtype=bool)


def _chain(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """One half of a convex hull: the points, in the given order, that keep turning left."""
    out: list[tuple[int, int]] = []
    for x, y in points:
        while len(out) >= 2:
            (ax, ay), (bx, by) = out[-2], out[-1]
            if (bx - ax) * (y - ay) - (by - ay) * (x - ax) > 0:
                break
            out.pop()
        out.append((x, y))
    return out


def _main_object(saliency: Array, radius: int) -> npt.NDArray[np.bool_]:
    """The main object: the salient regions (``OBJECT_PEAKS`` of the peak) with their enclosed insides filled
    (a cup's crema inside its rim), when they form a subject — not specks scattered over a texture; in a
    close-up filling the frame, its most salient core; else nothing."""
    peak = float(saliency.max())
    for level in OBJECT_PEAKS:
        core = saliency >= level * peak
        share = float(core.mean())
        if share < OBJECT_MIN_AREA or peak <= 0 or (share < FEATURE_MAX_AREA and _span(core) > FEATURE_MAX_SPAN):
            break  # only specks at this level (few, or scattered over the frame): there is no object
        if share <= OBJECT_MAX_AREA:
            filled = _enclosure(core.astype(np.float64)) > 0.5
            out: npt.NDArray[np.bool_] = dilate(filled, radius)
            return out
    return np.zeros(saliency.shape, dtype=bool)


def _contrast_and_edges(lab: Array, radius: int) -> tuple[Array, Array]:
    """The *contrast* saliency map (see the module doc) and the edge energy of a Lab array."""
    h, w = lab.shape[:2]
    # One blur pass for the Lab colour and the lightness gradient (edges) together.
    stacked = _blur(np.concatenate([lab, _gradient(lab[..., 0])[..., None]], axis=-1), radius)
    blurred = stacked[..., :3]
    edges = np.clip(stacked[..., 3] / 12.0, 0.0, 1.0)
    mean = lab.reshape(-1, 3).mean(axis=0)
    ft = np.linalg.norm(blurred - mean, axis=-1)
    ft_n = ft / max(float(ft.max()), 40.0)

    grad = _blur(_gradient(blurred[..., 0]), radius * 2)
    med = float(np.median(grad))
    spread = max(float(np.percentile(grad, 99)) - med, 2.0)
    grad_n = np.clip((grad - med) / spread, 0.0, 1.0)

    cs = np.linalg.norm(blurred - _coarse_blur(blurred, radius * 8), axis=-1)
    cs_n = np.clip(cs / max(float(np.percentile(cs, 99)), 15.0), 0.0, 1.0)

    yy, xx = np.mgrid[0:h, 0:w]
    centre = np.exp(-(((xx - (w - 1) / 2) / (0.45 * w)) ** 2 + ((yy - (h - 1) / 2) / (0.45 * h)) ** 2) / 2)
    base = _blur((0.45 * ft_n + 0.3 * grad_n + 0.25 * cs_n) * (0.75 + 0.25 * centre), radius * 2)
    # Sharpen (square) so that large, merely colourful regions weigh less than the subject's peaks.
    sharpened: Array = np.clip(base / max(float(base.max()), 0.5), 0.0, 1.0) ** 2
    return sharpened, edges


def _upright(objects: npt.NDArray[np.bool_], saliency: Array, edges: Array) -> npt.NDArray[np.bool_]:
    """The rest of an upright object (a rocket, a tower) above its salient part: when the objects' dominant
    columns form a narrow band (or, when they are wide, a narrow band of them salient above them:
    ``_salient_band``), the band above their top for as long as its rows keep edge energy (the body and nose cone of
    a rocket against the sky, which the colour contrast alone misses)."""
    out = np.zeros(objects.shape, dtype=bool)
    counts = objects.sum(axis=0)
    if counts.max() <= 0:
        return out
    columns = np.flatnonzero(counts >= 0.5 * counts.max())
    c0, c1 = int(columns[0]), int(columns[-1]) + 1
    if c1 - c0 > UPRIGHT_MAX_WIDTH * objects.shape[1]:
        band = _salient_band(objects, saliency, c0, c1)
        if band is None:
            return out
        c0, c1 = band
    top = int(np.flatnonzero(objects[:, c0:c1].any(axis=1))[0])
    profile = edges[:, c0:c1].mean(axis=1)
    floor = max(UPRIGHT_EDGE, 3.0 * float(np.median(edges)))
    y = top
    while y > 0 and profile[y - 1] >= floor:
        y -= 1
    out[y:top, c0:c1] = True
    return out


def _salient_band(objects: npt.NDArray[np.bool_], saliency: Array, c0: int, c1: int) -> tuple[int, int] | None:
    """When the objects are wide (a lit pad), the narrow band of their columns that stands out most above them
    (the rocket standing on the pad, brighter than the sky and the lattice towers beside it), if it is narrow
    enough to be one upright object and clearly more salient than the rest of the row."""
    top = int(np.flatnonzero(objects[:, c0:c1].any(axis=1))[0])
    if top < 2:
        return None
    profile = saliency[:top, c0:c1].mean(axis=0)
    peak = int(np.argmax(profile))
    if profile[peak] < UPRIGHT_STANDOUT * float(np.median(profile)):
        return None
    strong = profile >= 0.5 * profile[peak]
    left, right = peak, peak + 1
    while left > 0 and strong[left - 1]:
        left -= 1
    while right < strong.size and strong[right]:
        right += 1
    return (c0 + left, c0 + right) if right - left <= UPRIGHT_MAX_WIDTH * objects.shape[1] else None


def _tip(upright: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """The top ``UPRIGHT_TIP`` of an upright object's body (a rocket's nose cone), which is protected."""
    rows = np.flatnonzero(upright.any(axis=1))
    top = int(rows[0])
    bottom = top + max(1, round(UPRIGHT_TIP * (int(rows[-1]) + 1 - top)))
    out = np.zeros_like(upright)
    out[top:bottom] = upright[top:bottom]
    return out


def _span(mask: npt.NDArray[np.bool_]) -> float:
    """Share of the frame inside the bounding box of a (non-empty) mask."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return float((rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1) / mask.size)


def _features(saliency: Array, radius: int) -> npt.NDArray[np.bool_]:
    """A close-up's features: when the salient core (``OBJECT_PEAKS[0]`` of the peak) is small (a cat's eyes and
    nose filling the frame, which the main object alone may miss) but gathered in one part of the frame — not
    specks scattered over a texture or a star field — the core grown by ``FEATURE_GROW`` of the short side."""
    peak = float(saliency.max())
    core = saliency >= OBJECT_PEAKS[0] * peak
    share = float(core.mean())
    if peak <= 0 or not FEATURE_MIN_AREA <= share < FEATURE_MAX_AREA:
        return np.zeros(saliency.shape, dtype=bool)
    spanned = _span(core)
    yy, xx = np.nonzero(core)
    spread = float(np.std(yy)) / core.shape[0] + float(np.std(xx)) / core.shape[1]
    if spanned > FEATURE_MAX_SPAN or spread > FEATURE_MAX_SPREAD:
        return np.zeros(saliency.shape, dtype=bool)
    out: npt.NDArray[np.bool_] = dilate(core, max(radius, round(FEATURE_GROW * min(core.shape))))
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
    base, edges = _contrast_and_edges(lab, radius)
    ycc = np.asarray(small.convert("YCbCr"), dtype=np.float64)
    skin = SKIN_WEIGHT * _skin(ycc, radius)
    hull = _hull(np.maximum(base, skin))
    soft = _blur(np.stack([_enclosure(base), hull], axis=-1), radius * 2)
    saliency = np.maximum(
        np.maximum(base, ENCLOSURE_WEIGHT * soft[..., 0]), np.maximum(skin, HULL_WEIGHT * soft[..., 1])
    )
    faces, face_boxes = _faces(small, None if _colourless(ycc) else skin >= PROTECT_SKIN, radius)
    main_object = _main_object(saliency, radius)
    features = _features(saliency, radius)
    objects = main_object | features
    # A close-up: features (a cat's eyes and nose) but no face and no object, in front of a blurred background.
    in_focus = None if face_boxes or main_object.any() or not features.any() else _in_focus(lab[..., 0], radius)
    close_up = in_focus is not None
    figure = _figure(face_boxes, main_object, in_focus)
    # A portrait's subject is its face: its body is figure, avoided where there is room, but not kept clear.
    protected = (hull > 0) | (faces if faces.any() else objects)
    upright = _upright(objects, saliency, edges)
    if upright.any():
        saliency = np.maximum(saliency, UPRIGHT_WEIGHT * _blur(upright.astype(np.float64), radius))
        protected |= _tip(upright)

    return Analysis(
        scale,
        small,
        saliency,
        edges,
        SummedArea(saliency),
        SummedArea(edges),
        SummedArea(protected.astype(np.float64)),
        protected,
        SummedArea((features if close_up else faces).astype(np.float64)),
        SummedArea(figure.astype(np.float64)),
    )
