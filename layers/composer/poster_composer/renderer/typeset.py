"""Setting one line of text in a fallback chain of faces: runs, advance width and ink box.

``line_metrics_ref`` measures at a fixed reference size (cached) so the layout search can try many sizes
cheaply by scaling; ``set_line`` measures for real at the final size before drawing.
Coordinates are relative to the line's origin: x = 0 at the pen start, y = 0 on the baseline.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from poster_composer.renderer.fonts import load_font, split_runs

REF_SIZE = 200
FULL_INK = 230  # coverage of a fully inked pixel (90 %): the pixels a line's contrast is measured on
INK_CHECK_SIZE = 24  # from this size up every face's stems are about 2 px wide: they ink whole pixels
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Run:
    """A run of characters drawn with one face, starting ``x`` px after the line's origin."""

    text: str
    face: str | None
    x: float


@dataclass(frozen=True)
class SetLine:
    """A line set at one size: its runs, advance width and ink box (relative to origin/baseline)."""

    text: str
    size: int
    runs: tuple[Run, ...]
    advance: float
    ink: Box


def _set(text: str, chain: tuple[str, ...], size: int) -> SetLine:
    runs: list[Run] = []
    x = 0.0
    x0 = y0 = float("inf")
    x1 = y1 = float("-inf")
    for run_text, face in split_runs(text, chain):
        if face is None:
            runs.append(Run(run_text, None, x))
            continue
        font = load_font(face, size)
        if run_text.strip():
            bx0, by0, bx1, by1 = font.getbbox(run_text, anchor="ls")
            x0, y0, x1, y1 = min(x0, x + bx0), min(y0, by0), max(x1, x + bx1), max(y1, by1)
        runs.append(Run(run_text, face, x))
        x += font.getlength(run_text)
    if x0 == float("inf"):
        x0, y0, x1, y1 = 0.0, -size * 0.7, max(x, 1.0), 0.0
    return SetLine(text, size, tuple(runs), x, (x0, y0, x1, y1))


@functools.lru_cache(maxsize=8192)
def line_metrics_ref(text: str, chain: tuple[str, ...]) -> tuple[float, Box]:
    """Advance and ink box of ``text`` at ``REF_SIZE`` (cached); scale by ``size / REF_SIZE``."""
    line = _set(text, chain, REF_SIZE)
    return line.advance, line.ink


@functools.lru_cache(maxsize=8192)
def line_metrics_at(text: str, chain: tuple[str, ...], size: int) -> tuple[float, Box]:
    """Advance and ink box of ``text`` at ``size`` px itself (cached; small type on small canvases)."""
    line = _set(text, chain, size)
    return line.advance, line.ink


def ref_width(text: str, chain: tuple[str, ...]) -> float:
    """Advance width of ``text`` at ``REF_SIZE``."""
    return line_metrics_ref(text, chain)[0]


def set_line(text: str, chain: tuple[str, ...], size: int) -> SetLine:
    """Set ``text`` at ``size`` px with per-character fallback through ``chain``.

    Example
    -------
    >>> line = set_line("Hi 你好", ("Inter-Regular", "NotoSansSC-Regular"), 20)
    >>> [run.face for run in line.runs]
    ['Inter-Regular', 'NotoSansSC-Regular']
    """
    return _set(text, chain, size)


@functools.lru_cache(maxsize=4096)
def _peak(text: str, face: str, size: int) -> int:
    """Highest glyph coverage (0–255) of ``text`` drawn in ``face`` at ``size`` px."""
    return int(load_font(face, size).getmask(text, mode="L").getextrema()[1])


def reaches_full_ink(line: SetLine) -> bool:
    """Whether some pixel of the line is fully inked (``FULL_INK``), so that it shows its colour.

    Thin strokes of small type may only partly cover every pixel: such a line has no pixel of its own
    colour, and its contrast cannot be measured (nor seen).
    """
    if line.size >= INK_CHECK_SIZE:
        return True
    return any(_peak(r.text, r.face, line.size) >= FULL_INK for r in line.runs if r.face is not None and r.text.strip())
