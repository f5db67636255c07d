"""Stacking: the kept paragraphs wrapped at their sizes and stacked into a block (one column, a split's two
columns, or a tall split's top and bottom groups), with metrics scaled from a reference size (fast) or, on
small canvases, measured at the size itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from poster_composer.renderer.sizing import gap, panel_pad
from poster_composer.renderer.typeset import REF_SIZE, line_metrics_at, line_metrics_ref
from poster_composer.renderer.wrap import Line, word_break_cost, wrap

if TYPE_CHECKING:
    from poster_composer.renderer.fonts import Pairing, Role
    from poster_composer.renderer.layout import Align, Box, Paragraph

LEADING = {"title": 1.12, "subtitle": 1.22, "text": 1.38}
MAX_LINES = {"title": 4, "subtitle": 3, "text": 8}
MEASURE_EM = {"title": 1e9, "subtitle": 22.0, "text": 26.0}
SPLIT_GUTTER = 0.8  # the gutter between a split's two columns, in title sizes


@dataclass(frozen=True)
class Stacked:
    """An element's lines at one size, relative to the element's top-left (ink-based)."""

    role: str
    size: int
    width: float
    height: float
    lines: tuple[tuple[Paragraph, Line, float, Box], ...]  # paragraph, line, baseline y, ink at origin
    # Words broken across lines (only when a word is wider than the measure), weighted by ``word_break_cost``:
    # a break between any two characters of a Latin word counts more than one at a hyphenation point.
    broken_words: float = 0.0


@dataclass(frozen=True)
class Block:
    elements: tuple[Stacked, ...]
    offsets: tuple[float, ...]  # top of each element inside the block
    width: float
    height: float
    pad: float
    x_offsets: tuple[float, ...] = ()  # left of each element inside the block (a split's second column)
    gutter: float | None = None  # a split's gutter between its columns
    tall: float | None = None  # a tall split's height (title at the top, the rest at the bottom)

    @property
    def title_height(self) -> float:
        """Ink height of the first title line (0 without a title)."""
        for element in self.elements:
            if element.role == "title" and element.lines:
                _, _, _, (_, top, _, bottom) = element.lines[0]
                return bottom - top
        return 0.0

    @property
    def fill(self) -> float:
        """Share of the padded block (a panel hugging it) that its elements' boxes cover."""
        inner = sum(e.width * e.height for e in self.elements)
        return inner / max((self.width + 2 * self.pad) * (self.height + 2 * self.pad), 1e-9)


def _stretch(
    items: list[tuple[str, int, float, float]],
    arranged: tuple[tuple[float, ...], tuple[float, ...], float, float],
    tall: float,
) -> tuple[tuple[float, ...], tuple[float, ...], float, float]:
    """A one-column arrangement stretched to ``tall``: the body moves down to the bottom."""
    tops, lefts, width, height = arranged
    body = [i for i, item in enumerate(items) if item[0] not in ("logo", "title")]
    if not body or tall <= height:
        return arranged
    moved = tuple(top + (tall - height if i in body else 0.0) for i, top in enumerate(tops))
    return moved, lefts, width, tall


def arrange(
    items: list[tuple[str, int, float, float]], title_size: int, gutter: float | None, tall: float | None = None
) -> tuple[tuple[float, ...], tuple[float, ...], float, float]:
    """Offsets of stacked elements ``(role, size, width, height)``: one column, or with a ``gutter`` two (logo
    and title left, the rest right, the two groups centred on each other), or with a ``tall`` height one
    column that spans it (logo and title at the top, the rest at the bottom).  Returns (tops, lefts, width,
    height).
    """
    if tall is not None:
        return _stretch(items, arrange(items, title_size, None), tall)
    groups = [list(range(len(items)))]
    if gutter is not None:
        first = [i for i, item in enumerate(items) if item[0] in ("logo", "title")]
        groups = [first, [i for i in range(len(items)) if i not in first]]
    tops, lefts = [0.0] * len(items), [0.0] * len(items)
    heights, x, widths = [], 0.0, []
    for group in groups:
        y = 0.0
        for k, i in enumerate(group):
            if k:
                prev = items[group[k - 1]]
                y += gap(prev[1] if prev[0] != "logo" else title_size, items[i][1])
            tops[i], lefts[i] = y, x
            y += items[i][3]
        width = max(items[i][2] for i in group)
        heights.append(y)
        widths.append(width)
        x += width + (gutter or 0.0)
    height = max(heights)
    for group, group_height in zip(groups, heights, strict=True):
        for i in group:
            tops[i] += (height - group_height) / 2
    return tuple(tops), tuple(lefts), sum(widths) + (gutter or 0.0) * (len(groups) - 1), height


def stack_role(
    role: Role,
    paragraphs: list[Paragraph],
    chain: tuple[str, ...],
    size: int,
    wrap_width: float,
    max_lines: int,
    exact: bool = False,
) -> Stacked | None:
    """Wrap and stack one role's paragraphs; ``None`` if too many lines.

    Metrics are scaled from the reference size, or measured at ``size`` itself when ``exact`` (small
    canvases, where hinting makes small type a few pixels wider or taller than scaled).
    """
    k = 1.0 if exact else size / REF_SIZE

    def metrics(text: str) -> tuple[float, Box]:
        return line_metrics_at(text, chain, size) if exact else line_metrics_ref(text, chain)

    pitch = LEADING[role] * size
    lines: list[tuple[Paragraph, Line, float, Box]] = []
    count = 0
    baseline = 0.0
    for p_index, paragraph in enumerate(paragraphs):
        wrapped = wrap(paragraph.text, wrap_width / k, lambda s: metrics(s)[0], balance=role != "text")
        count += len(wrapped)
        if count > max_lines * (1 if role == "text" else len(paragraphs)):
            return None
        for line in wrapped:
            _, ink = metrics(line.drawn)
            if not lines:
                baseline = -ink[1] * k
            elif p_index and line is wrapped[0]:
                baseline += pitch * 1.35 if role == "text" else pitch
            else:
                baseline += pitch
            lines.append((paragraph, line, baseline, (ink[0] * k, ink[1] * k, ink[2] * k, ink[3] * k)))
    if not lines:
        return None
    width = max(ink[2] - ink[0] for *_, ink in lines)
    height = max(base + ink[3] for _, _, base, ink in lines)
    broken = sum(word_break_cost(paragraph.text, line.end, line.joiner) for paragraph, line, _, _ in lines)
    return Stacked(role, size, width, height, tuple(lines), broken)


def build_block(
    kept: tuple[Paragraph, ...],
    pairing: Pairing,
    sizes: dict[str, int],
    wrap_width: float,
    logo_aspect: float | None,
    shrink: float = 1.0,
    split: bool = False,
    tall: float | None = None,
) -> Block | None:
    """Wrap and stack the kept paragraphs at ``sizes``; ``split``: title and body side by side in two columns;
    ``tall``: the stack spans that height (title at the top, the rest at the bottom)."""
    elements: list[Stacked] = []
    split = split and tall is None and any(p.role != "title" for p in kept)
    roles = {p.role for p in kept}
    pad = panel_pad(min(sizes[r] for r in roles | {"title"}), sizes["title"], shrink)
    gutter = max(SPLIT_GUTTER * sizes["title"], 2.5 * pad) if split else None
    columns = {"logo": wrap_width, "title": wrap_width, "subtitle": wrap_width, "text": wrap_width}
    if gutter is not None:
        columns = {role: (wrap_width - gutter) / 2 for role in columns}
    if logo_aspect is not None:
        height = max(8.0, sizes["title"] * 1.15)
        width = min(height * logo_aspect, columns["logo"])
        elements.append(Stacked("logo", round(width / logo_aspect), width, width / logo_aspect, ()))
    for role in ("title", "subtitle", "text"):
        paragraphs = [p for p in kept if p.role == role]
        if paragraphs:
            limit = min(columns[role], MEASURE_EM[role] * sizes[role])
            # Smaller type on a small canvas may take more lines (the footprint must still fit).
            max_lines = math.ceil(MAX_LINES[role] / shrink)
            chain = pairing.chain(role, sizes[role])
            stacked = stack_role(role, paragraphs, chain, sizes[role], limit, max_lines, exact=shrink < 1)
            if stacked is None:
                return None
            elements.append(stacked)
    if not elements:
        return None
    items = [(e.role, e.size, e.width, e.height) for e in elements]
    smallest = min(e.size for e in elements if e.role != "logo") if len(elements) > 1 else sizes["title"]
    pad = panel_pad(smallest, sizes["title"], shrink)
    span = tall - 2 * pad if tall is not None else None
    tops, lefts, width, height = arrange(items, sizes["title"], gutter, span)
    return Block(tuple(elements), tops, width, height, pad, lefts if gutter is not None else (), gutter, span)


def element_boxes(block: Block, align: Align, x: float, y: float) -> list[Box]:
    """Absolute element boxes for a block whose footprint's top-left is ``(x, y)``."""
    left, top = x + block.pad, y + block.pad
    boxes: list[Box] = []
    lefts = block.x_offsets or (0.0,) * len(block.elements)
    for element, offset, shift in zip(block.elements, block.offsets, lefts, strict=True):
        if block.x_offsets:
            ex = left + shift
        elif align == "left":
            ex = left
        elif align == "right":
            ex = left + block.width - element.width
        else:
            ex = left + (block.width - element.width) / 2
        boxes.append((ex, top + offset, ex + element.width, top + offset + element.height))
    return boxes
