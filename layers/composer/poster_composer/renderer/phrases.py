"""Phrase boundaries of Chinese and Japanese text, from BudouX (Google's small phrase-break model).

A line may break between two phrases but not inside one, so that words such as 电影, 城市 or 工作坊 stay
on one line.  Japanese (any kana in the run) uses BudouX's Japanese model, everything else its
simplified-Chinese model.
"""

from __future__ import annotations

import functools

import budoux

_KANA = ((0x3040, 0x309F), (0x30A0, 0x30FF))


@functools.cache
def _parser(japanese: bool) -> budoux.Parser:
    if japanese:
        return budoux.load_default_japanese_parser()
    return budoux.load_default_simplified_chinese_parser()


def _is_kana(char: str) -> bool:
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _KANA)


@functools.lru_cache(maxsize=1024)
def phrase_lengths(run: str) -> tuple[int, ...]:
    """Lengths of the BudouX phrases of a run of CJK text (they sum to ``len(run)``).

    Example
    -------
    >>> phrase_lengths("夏夜电影节")
    (2, 3)
    """
    if not run:
        return ()
    phrases = _parser(any(_is_kana(ch) for ch in run)).parse(run)
    return tuple(len(p) for p in phrases if p)
