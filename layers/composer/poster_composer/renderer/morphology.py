"""Binary morphology on boolean masks: dilation and erosion by a square, in O(log radius) passes per axis.

Used by the image analysis (growing faces and the main object) and by the contrast check (the ring
around glyphs, the glyphs' core).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]


def _spread(mask: BoolArray, length: int, axis: int, forward: bool) -> BoolArray:
    """OR of ``mask`` shifted by 0..length-1 px along ``axis`` (by doubling: O(log length) passes)."""
    out = mask.copy()
    covered = 1
    n = mask.shape[axis]
    while covered < length:
        step = min(covered, length - covered)
        if step >= n:
            break
        src = [slice(None), slice(None)]
        dst = [slice(None), slice(None)]
        if forward:
            src[axis], dst[axis] = slice(0, n - step), slice(step, n)
        else:
            src[axis], dst[axis] = slice(step, n), slice(0, n - step)
        out[tuple(dst)] |= out[tuple(src)]
        covered += step
    return out


def dilate(mask: BoolArray, radius: int) -> BoolArray:
    """Binary dilation by a square of side ``2 * radius + 1``."""
    if radius <= 0:
        return mask
    out = mask
    for axis in (0, 1):
        out = _spread(_spread(out, radius + 1, axis, True), radius + 1, axis, False)
    return out


def erode(mask: BoolArray, radius: int) -> BoolArray:
    """Binary erosion by a square of side ``2 * radius + 1`` (pixels outside the array do not erode)."""
    if radius == 1:  # the common case: a 3 × 3 square, as two in-place passes of neighbour ANDs
        out = mask.copy()
        out[1:] &= mask[:-1]
        out[:-1] &= mask[1:]
        rows = out.copy()
        out[:, 1:] &= rows[:, :-1]
        out[:, :-1] &= rows[:, 1:]
        return out
    result: BoolArray = ~dilate(~mask, radius)
    return result
