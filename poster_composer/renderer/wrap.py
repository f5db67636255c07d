"""Line breaking suited to the script.

- Latin (and any space-separated script) breaks between words; a word longer than the line is broken
  between characters.
- CJK breaks between characters; closing punctuation (，。！？、；：）》」』” …) never starts a line and
  opening punctuation (（《「『“ …) never ends one: they are glued to their neighbour.
- Titles and subtitles are *balanced*: the greedy line count is kept but the lines are made as even
  as possible (no lone word on the last line).

Input strings are normalised first (``normalise``): whitespace runs collapse to one space and control
characters are removed.  Each wrapped line is an exact slice of the normalised paragraph and carries the
``joiner`` that followed it (``" "`` or ``""``), so ``"".join(line.text + line.joiner)`` gives the
normalised paragraph back.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

CLOSING = frozenset("，。！？、；：）》」』”’〉】〕〗〙〛｝］,.!?;:)]}%…‥·・ー〜～")
OPENING = frozenset("（《「『“‘〈【〔〖〘〚｛［([{¿¡")

_CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x1100, 0x11FF),
    (0x2E80, 0x2FDF),
    (0x3000, 0x303F),
    (0x3040, 0x30FF),
    (0x3100, 0x31FF),
    (0x3200, 0x9FFF),
    (0xAC00, 0xD7AF),
    (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFFEF),
    (0x20000, 0x3FFFF),
)


def is_cjk(char: str) -> bool:
    """Return whether ``char`` is a CJK character (ideograph, kana, hangul or CJK punctuation)."""
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _CJK_RANGES)


def normalise(text: str) -> str:
    """Collapse whitespace runs to one space, strip, and drop control/format characters.

    Example
    -------
    >>> normalise("  Hello\\n  world\\u200b ")
    'Hello world'
    """
    kept = "".join(" " if ch.isspace() else ch for ch in text if ch.isspace() or unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())


@dataclass(frozen=True)
class Line:
    """One wrapped line: ``text`` is ``paragraph[start:end]``; ``joiner`` is what followed it."""

    text: str
    start: int
    end: int
    joiner: str


@dataclass(frozen=True)
class _Atom:
    start: int
    end: int
    space_before: bool


def _atoms(text: str) -> list[_Atom]:
    """Split a normalised paragraph into unbreakable atoms (words, CJK characters, glued punctuation)."""
    atoms: list[_Atom] = []
    i, n = 0, len(text)
    space = False
    while i < n:
        ch = text[i]
        if ch == " ":
            space, i = True, i + 1
            continue
        j = i + 1
        if not is_cjk(ch):
            while j < n and text[j] != " " and not is_cjk(text[j]):
                j += 1
        atoms.append(_Atom(i, j, space))
        space, i = False, j
    return _glue(text, atoms)


def _glue(text: str, atoms: list[_Atom]) -> list[_Atom]:
    """Glue closing punctuation to the atom before it and opening punctuation to the atom after it."""
    glued: list[_Atom] = []
    for atom in atoms:
        if glued and not atom.space_before:
            prev = glued[-1]
            if text[atom.start] in CLOSING or text[prev.end - 1] in OPENING:
                glued[-1] = _Atom(prev.start, atom.end, prev.space_before)
                continue
        glued.append(atom)
    return glued


def _split_long(text: str, atom: _Atom, limit: float, measure: Callable[[str], float]) -> list[_Atom]:
    """Break an atom wider than ``limit`` between characters (keeping closing punctuation attached)."""
    pieces: list[_Atom] = []
    start = atom.start
    for k in range(atom.start + 1, atom.end):
        if text[k] in CLOSING:
            continue
        if measure(text[start : k + 1]) > limit and k > start:
            pieces.append(_Atom(start, k, atom.space_before if start == atom.start else False))
            start = k
    pieces.append(_Atom(start, atom.end, atom.space_before if start == atom.start else False))
    return pieces


def _greedy(text: str, atoms: list[_Atom], limit: float, measure: Callable[[str], float]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    first = 0
    for index in range(1, len(atoms) + 1):
        if index == len(atoms):
            spans.append((first, index))
            break
        candidate = text[atoms[first].start : atoms[index].end]
        if measure(candidate) > limit:
            spans.append((first, index))
            first = index
    return spans


def wrap(text: str, limit: float, measure: Callable[[str], float], *, balance: bool = False) -> list[Line]:
    """Wrap a normalised paragraph into lines no wider than ``limit`` (as measured by ``measure``).

    Parameters
    ----------
    text:
        A paragraph already passed through ``normalise``.
    limit:
        Maximum line width, in the unit ``measure`` returns.
    measure:
        Width of a string.
    balance:
        Keep the greedy line count but even the line lengths out.

    Returns
    -------
    list[Line]
        Lines whose ``text + joiner`` concatenate back to ``text``.

    Example
    -------
    >>> [line.text for line in wrap("春天来了。花开了", 3, len)]
    ['春天来', '了。花', '开了']
    """
    atoms: list[_Atom] = []
    for atom in _atoms(text):
        if measure(text[atom.start : atom.end]) > limit:
            atoms.extend(_split_long(text, atom, limit, measure))
        else:
            atoms.append(atom)
    if not atoms:
        return []
    spans = _greedy(text, atoms, limit, measure)
    if balance and len(spans) > 1:
        spans = _balance(text, atoms, limit, measure, len(spans))
    lines: list[Line] = []
    for first, last in spans:
        start, end = atoms[first].start, atoms[last - 1].end
        next_start = atoms[last].start if last < len(atoms) else end
        lines.append(Line(text[start:end], start, end, text[end:next_start]))
    return lines


def _balance(
    text: str, atoms: list[_Atom], limit: float, measure: Callable[[str], float], count: int
) -> list[tuple[int, int]]:
    """Find the narrowest limit that keeps ``count`` lines (bisection) and wrap with it."""
    lo = max(measure(text[a.start : a.end]) for a in atoms)
    hi = limit
    best = _greedy(text, atoms, hi, measure)
    for _ in range(12):
        if hi - lo < 0.5:
            break
        mid = (lo + hi) / 2
        spans = _greedy(text, atoms, mid, measure)
        if len(spans) <= count:
            best, hi = spans, mid
        else:
            lo = mid
    return best
