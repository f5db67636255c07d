"""Line breaking rules and per-character font fallback."""

from __future__ import annotations

import pytest

from poster_composer.renderer.fonts import FACES, PAIRINGS, face_for, font_path, has_glyph, split_runs
from poster_composer.renderer.wrap import (
    ARBITRARY_BREAK,
    CLOSING,
    OPENING,
    breaks_word,
    is_cjk,
    normalise,
    word_break_cost,
    wrap,
)
from tests.unit.composer.conftest import font_cmap


def _join(text: str, limit: float) -> list[str]:
    lines = wrap(text, limit, len)
    assert "".join(line.text + line.joiner for line in lines) == text
    return [line.text for line in lines]


def test_latin_breaks_between_words() -> None:
    assert _join("the quick brown fox jumps", 10) == ["the quick", "brown fox", "jumps"]


def _syllables(word: str) -> list[int]:
    """The en_US hyphenation points of a word, from pyphen itself (with the patterns' own minimums)."""
    import pyphen

    return [int(p) for p in pyphen.Pyphen(lang="en_US", left=2, right=3).positions(word)]


def test_long_word_is_hyphenated_at_a_syllable() -> None:
    # GIVEN a word wider than the line
    text = "supercalifragilistic ok"
    # WHEN wrapped
    lines = wrap(text, 8, len)
    # THEN it breaks at hyphenation points, taking as many syllables as fit with the drawn hyphen
    assert [line.drawn for line in lines] == ["super-", "cal-", "ifrag-", "ilistic", "ok"]
    assert all(len(line.drawn) <= 8 for line in lines)
    # AND each broken line ends at a pyphen point, draws a hyphen that is not in its text, and joins back
    for line in lines[:3]:
        assert line.hyphen and line.drawn == line.text + "-" and line.joiner == ""
        assert line.end in _syllables("supercalifragilistic")
    assert not lines[-2].hyphen and not lines[-1].hyphen
    assert "".join(line.text + line.joiner for line in lines) == text


@pytest.mark.parametrize("balance", [False, True])
@pytest.mark.parametrize("limit", [12, 16, 20, 30, 45])
def test_a_word_that_fits_is_never_hyphenated(limit: int, balance: bool) -> None:
    # GIVEN words that each fit on a line (the longest, Incomparable, is 12 wide)
    text = "The Incomparable Midsummer Astronomy Festival: telescopes, talks and music"
    # WHEN wrapped at any width
    lines = wrap(text, limit, len, balance=balance)
    # THEN no line is hyphenated and every break falls at a space
    assert not any(line.hyphen for line in lines)
    assert all(line.joiner == " " for line in lines[:-1])


JOIN_CASES = [
    "supercalifragilistic ok",
    "ok Pneumonoultramicroscopicsilicovolcanoconiosis, again!",
    "A state-of-the-art (extraordinarily) Internationalisation",
    "XXXXXXXXXXXX 1234567890123 www.example.org/stars",
    "Hubble 35周年 · 深空影像展 Incomparable",
]


@pytest.mark.parametrize("text", JOIN_CASES)
@pytest.mark.parametrize("limit", [3, 5, 8, 13])
def test_hyphenated_lines_join_back_and_fit_as_drawn(text: str, limit: int) -> None:
    for balance in (False, True):
        # WHEN a paragraph with words wider than the line is wrapped
        lines = wrap(text, limit, len, balance=balance)
        # THEN text + joiner still gives the paragraph back (the drawn hyphen is in neither)
        assert "".join(line.text + line.joiner for line in lines) == text
        # AND every line fits as drawn, hyphen included
        assert all(len(line.drawn) <= limit for line in lines), [line.drawn for line in lines]
        # AND a hyphen is drawn only inside a word: between two letters, or for the word's own hyphen
        for line in lines:
            if line.hyphen:
                assert line.joiner == "-" or (text[line.end - 1].isalpha() and text[line.end].isalpha())


def test_unhyphenatable_word_falls_back_to_characters() -> None:
    # GIVEN strings with no hyphenation point (pyphen has none for them)
    assert _syllables("XXXXXXXXXXXX") == []
    # WHEN wrapped narrower than they are
    letters = wrap("XXXXXXXXXXXX", 5, len)
    digits = wrap("1234567890123", 5, len)
    # THEN they break between characters: with a drawn hyphen between letters, without one between digits
    assert [line.drawn for line in letters] == ["XXXX-", "XXXX-", "XXXX"]
    assert [line.hyphen for line in letters] == [True, True, False]
    assert [line.drawn for line in digits] == ["12345", "67890", "123"]
    assert not any(line.hyphen for line in digits)
    # AND a break between characters costs more than a break at a syllable
    assert word_break_cost("XXXXXXXXXXXX", letters[0].end, letters[0].joiner) == ARBITRARY_BREAK


def test_long_word_syllable_wider_than_the_line_breaks_by_characters() -> None:
    # GIVEN a word whose first syllable (Pneu-) is wider than the line
    lines = wrap("Pneumonoultramicroscopicsilicovolcanoconiosis", 4, len)
    # THEN the syllable is broken between characters, hyphen drawn, and every line fits
    assert lines[0].drawn == "Pne-"
    assert all(len(line.drawn) <= 4 for line in lines)
    assert "".join(line.text + line.joiner for line in lines) == "Pneumonoultramicroscopicsilicovolcanoconiosis"


def test_compound_word_breaks_at_its_own_hyphen() -> None:
    # GIVEN a hyphenated compound wider than the line
    text = "state-of-the-art design"
    # WHEN wrapped
    lines = wrap(text, 8, len)
    # THEN it breaks after its own hyphens: the break absorbs the hyphen into the joiner and draws it
    assert [(line.text, line.joiner, line.hyphen) for line in lines] == [
        ("state", "-", True),
        ("of-the", "-", True),
        ("art", " ", False),
        ("design", "", False),
    ]
    assert [line.drawn for line in lines] == ["state-", "of-the-", "art", "design"]
    # AND no separator ends or starts a line's text; the hyphen is drawn once, not added twice
    assert all(line.text[0] != "-" and line.text[-1] != "-" for line in lines)
    # AND the same compound that fits is not broken
    assert [line.text for line in wrap(text, 16, len)] == ["state-of-the-art", "design"]


def test_hyphenated_break_costs_less_than_an_arbitrary_one() -> None:
    # GIVEN breaks in Festival (Fes-ti-val), in a compound, in a short CJK word and at a space
    assert _syllables("Festival") == [3, 5]
    # THEN a break at a syllable or after the compound's own hyphen costs one broken word (as any broken word
    # did before hyphenation), a break between any two characters more, and a break at a space nothing
    assert word_break_cost("Festival", 3, "") == 1.0
    assert word_break_cost("state-of-the-art", 5, "-") == 1.0
    assert word_break_cost("Festival", 4, "") == ARBITRARY_BREAK > 1.0
    assert word_break_cost("领养日", 2, "") == 1.0
    assert word_break_cost("Summer Nights", 6, " ") == 0.0
    assert breaks_word("Festival", 3, "") and breaks_word("state-of-the-art", 5, "-")


def test_cjk_breaks_between_characters() -> None:
    assert _join("春天来了花开了", 3) == ["春天来", "了花开", "了"]


@pytest.mark.parametrize("limit", [2, 3, 4, 5, 6, 7])
def test_cjk_punctuation_rules(limit: int) -> None:
    text = "他说：「你好，世界！」我们（一起）走吧。《书》很好，是吗？"
    lines = _join(text, limit)
    for line in lines[1:]:
        assert line[0] not in CLOSING, lines
    for line in lines[:-1]:
        assert line[-1] not in OPENING, lines


def test_mixed_script_keeps_latin_words_whole() -> None:
    lines = _join("欢迎参加 Spring Festival 活动", 9)
    assert any("Spring" in line for line in lines)
    assert all("Spr" not in line or "Spring" in line for line in lines)


def test_balanced_wrap_evens_lines() -> None:
    lines = wrap("The Incomparable Midsummer Astronomy Festival", 30, len, balance=True)
    widths = [len(line.text) for line in lines]
    assert len(lines) == 2 and max(widths) - min(widths) <= 8


def test_normalise_collapses_whitespace_and_controls() -> None:
    assert normalise("  a\tb\n\nc\u200b ") == "a b c"


def test_fallback_draws_each_character_with_a_face_that_has_it() -> None:
    chain = PAIRINGS[0].chain("title")
    text = "Hubble 35周年 · 深空影像展！"
    for run, face in split_runs(text, chain):
        assert face is not None
        cmap = font_cmap(face)
        assert all(ord(ch) in cmap for ch in run)


def test_every_pairing_covers_latin_digits_and_chinese() -> None:
    assert len(PAIRINGS) >= 4
    for pairing in PAIRINGS:
        for role in ("title", "subtitle", "text"):
            for size in (12, 48):
                chain = pairing.chain(role, size)
                for ch in "Aa9€你好，。！":
                    assert face_for(ch, chain) is not None, (pairing.name, role, ch)


def test_fonts_come_from_packages() -> None:
    for key in FACES:
        path = font_path(key)
        assert "site-packages" in str(path) or "dist-packages" in str(path)
        assert has_glyph(key, "A") or has_glyph(key, "你")


PHRASE_CASES = [
    ("第十二届城市咖啡文化节盛大开幕", 8),
    ("夏夜电影节", 3),
    ("现场设有手冲体验区、拉花比赛、咖啡豆市集和亲子工作坊（需预约）。", 10),
    ("每周五晚九点", 4),
]


@pytest.mark.parametrize(("text", "limit"), PHRASE_CASES)
def test_cjk_breaks_between_phrases(text: str, limit: int) -> None:
    # GIVEN Chinese text and BudouX's own phrases of it
    import budoux

    phrases = budoux.load_default_simplified_chinese_parser().parse(text)
    bounds = {sum(len(p) for p in phrases[:i]) for i in range(len(phrases) + 1)}
    # WHEN wrapped (plain and balanced)
    for balance in (False, True):
        lines = wrap(text, limit, len, balance=balance)
        # THEN every break falls between two phrases (no phrase here is wider than the line)
        assert all(line.end in bounds for line in lines), [line.text for line in lines]


@pytest.mark.parametrize("limit", [4, 6, 8, 10, 12, 16])
def test_no_separator_at_a_line_end_or_start(limit: int) -> None:
    # (a compound wider than the line breaks after its own hyphen, which the break moves into the joiner)
    for text in (
        "Hubble 35周年 · 深空影像展",
        "全场8折 · 3月1日起",
        "Music | Film | Talks / Free - all night",
        "A state-of-the-art night",
    ):
        lines = [line.text for line in wrap(text, limit, len, balance=True)]
        for line in lines:
            assert line[0] not in "·|/-—" and line[-1] not in "·|/-—", lines


def _stroke_weight(face: str, text: str) -> float:
    """Mean stroke width over the em: 2 × ink area ÷ ink perimeter of ``text`` at 100 px (50 % coverage)."""
    import numpy as np
    from PIL import Image, ImageDraw

    from poster_composer.renderer.fonts import load_font

    image = Image.new("L", (1600, 200), 0)
    ImageDraw.Draw(image).text((10, 150), text, font=load_font(face, 100), fill=255, anchor="ls")
    ink = np.asarray(image) >= 128
    edges = int((ink[1:] != ink[:-1]).sum() + (ink[:, 1:] != ink[:, :-1]).sum())
    return 2 * int(ink.sum()) / edges / 100


@pytest.mark.parametrize("pairing", PAIRINGS, ids=[p.name for p in PAIRINGS])
def test_latin_and_cjk_faces_of_a_chain_match_in_weight(pairing: object) -> None:
    # GIVEN each role's chain at display size: its Latin face and its CJK face
    for role in ("title", "subtitle", "text"):
        latin, cjk = pairing.chain(role, 48)[:2]  # type: ignore[attr-defined]
        # THEN their stroke weights are within a fifth of each other (one weight in a mixed line)
        ratio = _stroke_weight(cjk, "城市电影节夏夜新品") / _stroke_weight(latin, "Summer Nights HUBBLE")
        assert 0.8 <= ratio <= 1.25, (role, latin, cjk, round(ratio, 3))


def test_a_short_cjk_word_is_not_split_by_its_phrases() -> None:
    # GIVEN a three-character title BudouX splits as 领养|日
    # THEN it stays on one line when it fits, and splitting it (only when wider than the line) counts as a broken word
    assert [line.text for line in wrap("领养日", 3, len, balance=True)] == ["领养日"]
    assert [line.text for line in wrap("领养日 给它一个家", 5, len, balance=True)] == ["领养日", "给它一个家"]
    split = wrap("领养日", 2, len, balance=True)
    assert [line.text for line in split] == ["领养", "日"]
    assert breaks_word("领养日", split[0].end, split[0].joiner)
    assert not breaks_word("温暖的家园", 2, "")  # a longer run breaks between phrases freely
    assert breaks_word("Festival", 4, "") and not breaks_word("Summer Nights", 6, " ")


def test_a_chinese_name_among_latin_words_stays_whole() -> None:
    # GIVEN a mixed subtitle naming the Webb telescope, which BudouX splits as 韦|布望|远镜
    text = "From the Deep Field to 韦布望远镜: 35 years of discovery"

    def measure(s: str) -> float:
        return len(s) + sum(1 for ch in s if is_cjk(ch))  # a CJK character is twice as wide as a Latin one

    # THEN at every width where it fits, no line ends inside the name, and a break inside it is a broken word
    for limit in range(12, round(measure(text)) + 1):
        for lines in (wrap(text, limit, measure), wrap(text, limit, measure, balance=True)):
            assert "韦布望远镜" in [w.strip(":") for line in lines for w in line.text.split()], (limit, lines)
    assert breaks_word(text, text.index("远"), "")
    # AND in Chinese text the same run still breaks between BudouX's phrases (no Latin word before it: no name)
    assert not breaks_word("从哈勃到韦布望远镜", 7, "")  # 韦布望 | 远镜, a BudouX boundary


def test_a_break_inside_a_phrase_of_a_longer_run_is_a_broken_word() -> None:
    # GIVEN a five-character title BudouX reads as 夏夜|电影节
    # THEN breaking between its phrases breaks no word, and breaking inside 电影节 (电影 / 节) does, at the cost
    # of one broken word, so that the search prefers a size at which the phrase stays whole
    assert not breaks_word("夏夜电影节", 2, "")
    assert breaks_word("夏夜电影节", 4, "")
    assert word_break_cost("夏夜电影节", 4, "") == 1.0
