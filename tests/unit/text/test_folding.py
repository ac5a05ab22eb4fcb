"""Folding undoes the spellings that evade exact matching and keeps where each letter came from."""

from __future__ import annotations

import pytest

from vidsafe.text.folding import fold


@pytest.mark.parametrize("spelling", [
    "kill", "KILL", "K1LL", "ki11", "k!ll", "k|ll", "k.i.l.l", "k i l l", "k-i-l-l", "kiiiiill", "kíll",
    "\u043aill",  # Cyrillic ka
    "\uff4b\uff49\uff4c\uff4c",  # full-width
])
def test_every_spelling_of_a_word_folds_to_one_form(spelling: str) -> None:
    assert fold(spelling).letters == " ki "


def test_repeated_letters_keep_their_count() -> None:
    runs = fold("asss").runs
    assert [(r.letter, r.count) for r in runs] == [(" ", 1), ("a", 1), ("s", 3), (" ", 1)]


@pytest.mark.parametrize(("text", "folded"), [
    ("I am a cat", " i am a cat "),  # one lone letter at a time is not a word spelled out
    ("card!", " card "),  # ! ends a word here, it stands for no letter
    ("sh!t", " shit "),
    ("Ünïcödé", " unicode "),
    ("send  me\n\tyour...details", " send me your detais "),
    ("", " "),
])
def test_words_between_single_spaces(text: str, folded: str) -> None:
    assert fold(text).letters == folded


def test_spans_point_into_the_original_text() -> None:
    text = "pay me: d.o.u.b.l.e your money"
    folded = fold(text)
    first = folded.letters.index("doubie")  # l folds to i
    start, end = folded.span(first, first + 5)
    assert text[start:end] == "d.o.u.b.l.e"
