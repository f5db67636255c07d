"""Line breaking suited to the script.

- Latin (and any space-separated script) breaks between words.  Only a word wider than the line is broken:
  at its own hyphens and at its en_US hyphenation points (pyphen: ``In-com-pa-ra-ble``), each line taking
  as many syllables as fit with the hyphen drawn after them (``Line.hyphen``: drawn, not in ``text``); a
  syllable still wider than the line is broken between characters, with a drawn hyphen between two
  letters (if it fits).  A word that fits is never hyphenated.
- CJK breaks between BudouX phrases (``phrases``: 电影节, 城市, 工作坊 stay whole), between characters only
  inside a phrase wider than the line; a run of at most ``SHORT_CJK_RUN`` characters (领养日) is one word, and so
  is a run of at most ``NAME_CJK_RUN`` right after a Latin word (``to 韦布望远镜: 35 years``), where it reads as a
  name in a Latin sentence that BudouX may split (韦布望 / 远镜).
  Closing punctuation (，。！？、；：）》」』” …) never starts a line and opening punctuation (（《「『“ …)
  never ends one: they are glued to their neighbour.
- Titles and subtitles are *balanced*: the greedy line count is kept but the lines are made as even
  as possible (no lone word on the last line), preferring breaks at spaces and after punctuation to
  breaks inside a run of CJK characters (``2025 春季新品`` breaks as ``2025`` / ``春季新品``, not
  ``2025 春`` / ``季新品``).
- A separator (``·``, ``|``, ``/``, ``-``, ``—``) never ends or starts a line.  One standing between
  spaces (``35周年 · 深空``) is a break opportunity that the break absorbs: the line ends before it and it
  goes into the line's ``joiner`` (``" · "``), as a designer drops a separator at a line break.  One
  attached to a word (``4月24日—7月``) is glued to both neighbours.  A number keeps the CJK character
  that follows it (``35周``, ``8折``).  A hyphen inside a Latin word wider than the line
  (``state-of-the-art``) is a break opportunity absorbed the same way: the line ends before it and it goes
  into the ``joiner`` (``state`` + ``"-"`` + ``of-the-art``), but the line draws it (``Line.hyphen``), so
  it shows ``state-`` and no hyphen is added.  Either way no separator ends or starts a line's ``text``.

Input strings are normalised first (``normalise``): whitespace runs collapse to one space and control
characters are removed.  Each wrapped line is an exact slice of the normalised paragraph and carries the
``joiner`` that followed it (``" "``, ``""``, a separator with its spaces, ``" · "``, or a word's own
hyphen, ``"-"``), so ``"".join(line.text + line.joiner)`` gives the normalised paragraph back.  A line is
measured and drawn as ``Line.drawn``: its text, and the hyphen if it ends inside a word.
"""

from __future__ import annotations

import functools
import itertools
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from poster_composer.renderer.phrases import phrase_lengths

if TYPE_CHECKING:
    from collections.abc import Callable

    import pyphen

CLOSING = frozenset("，。！？、；：）》」』”’〉】〕〗〙〛｝］,.!?;:)]}%…‥·・ー〜～")
OPENING = frozenset("（《「『“‘〈【〔〖〘〚｛［([{¿¡")
SEPARATORS = frozenset("·・|｜/—–-•")
CJK_BREAK_PENALTY = 0.25
SHORT_CJK_RUN = 3  # a CJK run this short is kept whole (BudouX splits 领养日 as 领养|日)
NAME_CJK_RUN = 6  # right after a Latin word, a CJK run this short is a name, kept whole (韦布望|远镜)
HYPHEN = "-"  # drawn after a line that ends inside a Latin word
ARBITRARY_BREAK = 1.5  # cost of a Latin word broken between characters, against 1 at a hyphenation point

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


def one_cjk_word(text: str, start: int, stop: int) -> bool:
    """Whether the CJK run ``text[start:stop]`` is one word: a few characters (``SHORT_CJK_RUN``: 领养日), or a
    name in a Latin sentence (``NAME_CJK_RUN``, right after a Latin word: to 韦布望远镜: 35 years).

    Example
    -------
    >>> one_cjk_word("to 韦布望远镜: 35 years", 3, 8), one_cjk_word("Hubble · 深空影像展", 9, 14)
    (True, False)
    """
    if stop - start <= SHORT_CJK_RUN:
        return True
    before = text[:start].rstrip()
    return stop - start <= NAME_CJK_RUN and before[-1:].isascii() and before[-1:].isalpha()


def breaks_word(text: str, end: int, joiner: str) -> bool:
    """Whether a line ending at ``text[end]`` (followed by ``joiner``) breaks a word: a Latin word broken
    between letters or after its own hyphen, a CJK word (``one_cjk_word``) split, or a longer CJK run split
    inside one of its BudouX phrases (夏夜电影 / 节)."""
    if joiner == HYPHEN:  # the word's own hyphen, absorbed by the break
        return True
    if joiner or not 0 < end < len(text):
        return False
    before, after = text[end - 1], text[end]
    if not (is_cjk(before) or is_cjk(after)):
        return before.isalnum() and after.isalnum()
    if not (is_cjk(before) and is_cjk(after)):
        return False
    start, stop = end - 1, end + 1
    while start > 0 and is_cjk(text[start - 1]):
        start -= 1
    while stop < len(text) and is_cjk(text[stop]):
        stop += 1
    if one_cjk_word(text, start, stop):
        return True
    return end - start not in itertools.accumulate(phrase_lengths(text[start:stop]))


def word_break_cost(text: str, end: int, joiner: str) -> float:
    """How much a line ending at ``text[end]`` (followed by ``joiner``) breaks a word, in broken words: 0 when
    it breaks none (``breaks_word``); 1 for a Latin word broken where a reader expects it (at a hyphenation
    point, or after its own hyphen) or a short CJK word split; ``ARBITRARY_BREAK`` for a Latin word broken
    between any two characters.  A hyphenated break costs what any broken word cost before words were
    hyphenated (the search is no more willing to break one), and still more than a break at a space."""
    if not breaks_word(text, end, joiner):
        return 0.0
    if joiner == HYPHEN or is_cjk(text[end]):
        return 1.0
    start, stop = end, end
    while start > 0 and text[start - 1].isalpha():
        start -= 1
    while stop < len(text) and text[stop].isalpha():
        stop += 1
    at_syllable = start < end < stop and end - start in _syllables(text[start:stop])
    return 1.0 if at_syllable else ARBITRARY_BREAK


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
    """One wrapped line: ``text`` is ``paragraph[start:end]``; ``joiner`` is what followed it; ``hyphen``: the
    line ends inside a word and a hyphen is drawn after ``text``, though ``text`` does not hold it."""

    text: str
    start: int
    end: int
    joiner: str
    hyphen: bool = False

    @property
    def drawn(self) -> str:
        """The line as measured and drawn: ``text``, followed by the hyphen if it has one."""
        return self.text + HYPHEN if self.hyphen else self.text


@dataclass(frozen=True)
class _Atom:
    start: int
    end: int
    space_before: bool
    hyphen: bool = False  # a line ending after this atom draws a hyphen (a piece of a broken Latin word)


def _atoms(text: str) -> list[_Atom]:
    """Split a normalised paragraph into unbreakable atoms (a fresh list; cached underneath)."""
    return list(_atoms_cached(text))


def _lone_separator(text: str, i: int) -> bool:
    """Whether ``text[i]`` is a separator standing between spaces (``A · B``), not at the very end."""
    return text[i] in SEPARATORS and 0 < i < len(text) - 2 and text[i - 1] == " " and text[i + 1] == " "


@functools.lru_cache(maxsize=256)
def _atoms_cached(text: str) -> tuple[_Atom, ...]:
    """Split a normalised paragraph into unbreakable atoms (words, CJK characters, glued punctuation)."""
    atoms: list[_Atom] = []
    i, n = 0, len(text)
    space = False
    while i < n:
        ch = text[i]
        if ch == " " or (_lone_separator(text, i) and atoms):
            space, i = True, i + 1
            continue
        j = i + 1
        if not is_cjk(ch):
            while j < n and text[j] != " " and not is_cjk(text[j]):
                j += 1
            atoms.append(_Atom(i, j, space))
            space, i = False, j
            continue
        while j < n and is_cjk(text[j]):
            j += 1
        # A run that is one word (领养日, 夏夜, a name after a Latin word) breaks only if wider than the line.
        for length in (j - i,) if one_cjk_word(text, i, j) else phrase_lengths(text[i:j]):
            atoms.append(_Atom(i, i + length, space))
            space, i = False, i + length
    return tuple(_glue(text, atoms))


def _glue(text: str, atoms: list[_Atom]) -> list[_Atom]:
    """Glue closing punctuation to the atom before it and opening punctuation to the atom after it.

    A separator (``·``, ``|``, ``/``, ``-``, ``—``) never ends or starts a line: an atom starting with one
    is glued to the atom before it, and the atom after one is glued to it (so ``A · B`` stays together).
    A CJK character is glued to a number right before it.
    """
    glued: list[_Atom] = []
    for atom in atoms:
        if glued:
            prev = glued[-1]
            first, last = text[atom.start], text[prev.end - 1]
            if (
                first in SEPARATORS
                or last in SEPARATORS
                or (
                    not atom.space_before
                    and (first in CLOSING or last in OPENING or (is_cjk(first) and last.isdigit()))
                )
            ):
                glued[-1] = _Atom(prev.start, atom.end, prev.space_before)
                continue
        glued.append(atom)
    return glued


def _unbreakable(text: str, k: int) -> bool:
    """Whether a break before ``text[k]`` would leave punctuation, a separator or a split number-unit."""
    before, after = text[k - 1], text[k]
    return (
        " " in (before, after)
        or after in CLOSING
        or after in SEPARATORS
        or before in SEPARATORS
        or before in OPENING
        or (is_cjk(after) and before.isdigit())
    )


def _split_long(text: str, atom: _Atom, limit: float, measure: Callable[[str], float]) -> list[_Atom]:
    """Break a CJK (or mixed) atom wider than ``limit`` between characters (keeping closing punctuation
    attached); a Latin one is hyphenated instead (``_hyphenate``)."""
    pieces: list[_Atom] = []
    start = atom.start
    for k in range(atom.start + 1, atom.end):
        if _unbreakable(text, k):
            continue
        if measure(text[start : k + 1]) > limit and k > start:
            pieces.append(_Atom(start, k, atom.space_before if start == atom.start else False))
            start = k
    pieces.append(_Atom(start, atom.end, atom.space_before if start == atom.start else False))
    return pieces


@functools.cache
def _hyphenator() -> pyphen.Pyphen:
    """The en_US hyphenation patterns, loaded on first use (only a word wider than its line needs them)."""
    import pyphen  # here, not at the top: keeps the cold start lean

    # The patterns' own minimums: two letters before a hyphenation point, three after it.
    return pyphen.Pyphen(lang="en_US", left=2, right=3)


@functools.lru_cache(maxsize=1024)
def _syllables(letters: str) -> frozenset[int]:
    """The en_US hyphenation points of a run of letters (offsets; a point that would respell the word, as
    some languages' patterns do, is left out: a line is always a slice of its paragraph)."""
    return frozenset(int(p) for p in _hyphenator().positions(letters) if not p.data)


@functools.lru_cache(maxsize=1024)
def _word_breaks(word: str) -> tuple[tuple[int, int], ...]:
    """Where a Latin word may break, in order, as ``(end of the line, start of the next line)`` offsets: after
    each of its own hyphens between two letters or digits (the hyphen goes into the joiner: ``(h, h + 1)``)
    and at the hyphenation points of each run of letters (``(p, p)``)."""
    breaks = [(i, i + 1) for i in range(1, len(word) - 1) if word[i] == HYPHEN and _inner_hyphen(word, i)]
    offset = 0
    for letters, chars in itertools.groupby(word, str.isalpha):
        run = "".join(chars)
        if letters:
            breaks.extend((offset + p, offset + p) for p in _syllables(run))
        offset += len(run)
    return tuple(sorted(breaks))


def _inner_hyphen(word: str, i: int) -> bool:
    """Whether ``word[i]`` stands between two letters or digits (``state-of``, ``COVID-19``), not ``-5`` or ``a -b``."""
    return word[i - 1].isalnum() and word[i + 1].isalnum()


def _character_break(
    text: str, start: int, stop: int, limit: float, measure: Callable[[str], float]
) -> tuple[int, bool] | None:
    """The furthest break between characters in ``text[start:stop]`` whose first part fits in ``limit``, with
    whether it draws a hyphen (between two letters); else the first allowed break, without a hyphen to widen
    it further (a piece has at least one character); ``None`` if no break is allowed (``_unbreakable``)."""
    found: tuple[int, bool] | None = None
    for k in range(start + 1, stop):
        if _unbreakable(text, k):
            continue
        hyphen = text[k - 1].isalpha() and text[k].isalpha()
        if measure(text[start:k] + HYPHEN if hyphen else text[start:k]) > limit:
            return found or (k, False)
        found = (k, hyphen)
    return found


def _syllable_break(
    text: str, start: int, ahead: list[tuple[int, int]], limit: float, measure: Callable[[str], float]
) -> tuple[int, int] | None:
    """The furthest of the word's breaks ``ahead`` whose line (from ``start``, hyphen drawn) fits in ``limit``."""
    found = None
    for end, following in ahead:
        if measure(text[start:end] + HYPHEN) > limit:
            break
        found = (end, following)
    return found


def _hyphenate(text: str, atom: _Atom, limit: float, measure: Callable[[str], float]) -> list[_Atom]:
    """Break a Latin atom wider than ``limit`` into pieces that fit, each but the last drawn with a hyphen.

    Each piece takes as many syllables as fit (to a hyphenation point or the word's own hyphen: see
    ``_word_breaks``), the drawn hyphen included; a syllable wider than the line on its own is broken between
    characters (``_character_break``), with a drawn hyphen only between two letters.  The patterns are
    English (en_US): a word of another Latin-script language gets English hyphenation points.
    """
    breaks = [(atom.start + e, atom.start + f) for e, f in _word_breaks(text[atom.start : atom.end])]
    pieces: list[_Atom] = []
    start, space = atom.start, atom.space_before
    while measure(text[start : atom.end]) > limit:
        ahead = [b for b in breaks if b[0] > start]
        found = _syllable_break(text, start, ahead, limit, measure)
        hyphen = True  # at a hyphenation point, or the word's own hyphen (always drawn: it is in the input)
        if found is None:
            character = _character_break(text, start, ahead[0][0] if ahead else atom.end, limit, measure)
            if character is not None:
                k, hyphen = character
                found = (k, k)
            elif ahead:  # a piece that cannot be broken and does not fit: it overflows on its own
                found = ahead[0]
            else:
                break
        pieces.append(_Atom(start, found[0], space, hyphen))
        start, space = found[1], False
    pieces.append(_Atom(start, atom.end, space))
    return pieces


def _width(text: str, atoms: list[_Atom], first: int, last: int, measure: Callable[[str], float]) -> float:
    """Width of a line of ``atoms[first:last]`` as drawn (with the hyphen its last atom may add)."""
    end = atoms[last - 1]
    return measure(text[atoms[first].start : end.end] + (HYPHEN if end.hyphen else ""))


def _greedy(text: str, atoms: list[_Atom], limit: float, measure: Callable[[str], float]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    first = 0
    for index in range(1, len(atoms) + 1):
        if index == len(atoms):
            spans.append((first, index))
            break
        if _width(text, atoms, first, index + 1, measure) > limit:
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
        Lines whose ``text + joiner`` concatenate back to ``text``, each no wider than ``limit`` as drawn
        (``Line.drawn``: with its hyphen), unless a piece that cannot be broken (a character) is wider.

    Example
    -------
    >>> [line.text for line in wrap("春天来了。花开了", 3, len)]
    ['春天来', '了。', '花开了']
    """
    atoms: list[_Atom] = []
    for atom in _atoms(text):
        word = text[atom.start : atom.end]
        if measure(word) <= limit:
            atoms.append(atom)
        elif any(is_cjk(ch) for ch in word):
            atoms.extend(_split_long(text, atom, limit, measure))
        else:
            atoms.extend(_hyphenate(text, atom, limit, measure))
    if not atoms:
        return []
    spans = _greedy(text, atoms, limit, measure)
    if balance and len(spans) > 1:
        spans = _balance(text, atoms, limit, measure, len(spans))
    lines: list[Line] = []
    for first, last in spans:
        start, end = atoms[first].start, atoms[last - 1].end
        next_start = atoms[last].start if last < len(atoms) else end
        lines.append(Line(text[start:end], start, end, text[end:next_start], atoms[last - 1].hyphen))
    return lines


def _break_penalty(text: str, atoms: list[_Atom], index: int, spaced: bool) -> float:
    """Cost of a line break before ``atoms[index]``: none at a space or after punctuation."""
    if not spaced or atoms[index].space_before:
        return 0.0
    last = text[atoms[index - 1].end - 1]
    return 0.0 if last in CLOSING or last in SEPARATORS else CJK_BREAK_PENALTY


def _balance(
    text: str, atoms: list[_Atom], limit: float, measure: Callable[[str], float], count: int
) -> list[tuple[int, int]]:
    """Break into ``count`` lines no wider than ``limit``, as even as possible (dynamic programming).

    Cost: squared deviation of each line's width from the mean line width (relative), plus a penalty
    for a break inside a run of CJK characters when the paragraph has spaces to break at instead.
    """
    n = len(atoms)
    spaced = any(a.space_before for a in atoms[1:])
    ideal = max(measure(text[atoms[0].start : atoms[-1].end]) / count, 1e-9)
    inf = float("inf")
    # cost[k][j]: best cost of putting atoms[:j] on k lines; back[k][j]: start atom of the k-th line.
    cost = [[inf] * (n + 1) for _ in range(count + 1)]
    back = [[0] * (n + 1) for _ in range(count + 1)]
    cost[0][0] = 0.0
    for k in range(1, count + 1):
        for j in range(k, n - (count - k) + 1):
            for i in range(j - 1, k - 2, -1):
                if cost[k - 1][i] == inf:
                    continue
                width = _width(text, atoms, i, j, measure)
                if width > limit and j - i > 1:
                    break
                value = cost[k - 1][i] + ((width - ideal) / ideal) ** 2
                if i:
                    value += _break_penalty(text, atoms, i, spaced)
                if value < cost[k][j]:
                    cost[k][j], back[k][j] = value, i
    if cost[count][n] == inf:
        return _greedy(text, atoms, limit, measure)
    spans: list[tuple[int, int]] = []
    j = n
    for k in range(count, 0, -1):
        i = back[k][j]
        spans.append((i, j))
        j = i
    return spans[::-1]
