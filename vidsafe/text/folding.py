"""Folding text the way evasions are undone, keeping where each folded character came from.

Someone who wants a banned word through a filter writes it so that it is still read as the word but no longer
matches it: ``K1LL``, ``k.i.l.l``, ``kiiiill``, Cyrillic ``к`` for ``k``, full-width letters, ``kíll``. Folding maps
every such spelling and the word itself to one form, so one entry of a term bank matches them all:

- compatibility forms (full-width, ligatures, circled letters) to their plain letters (NFKD), accents dropped, case
  folded;
- Cyrillic and Greek letters that look like Latin ones to those letters;
- leetspeak digits and symbols to the letters they stand for; ``1``, ``!`` and ``|`` stand for ``i`` or ``l``, so
  ``i`` and ``l`` fold to one letter, ``i``;
- letters spelled out one at a time (``k i l l``, ``k.i.l.l``, ``k-i-l-l``) joined into the word;
- any run of other characters to one space, words between single spaces.

Repeated letters (``kiiiill``) are the one thing folding keeps: ``ass`` is not ``as``, nor ``hell`` ``he``. A
``Folded`` text keeps each letter's run as a count; matching (``vidsafe.text.banks``) compares the letters with
runs collapsed and then asks the text for at least the term's count of each run.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Cyrillic and Greek letters (lower case, after case folding) drawn like a Latin letter.
HOMOGLYPHS = {
    **dict(zip("авсеёгһіјкӏмнорԛѕтуүхьѡ", "abceerhijkimhopqstyyxbw", strict=True)),  # Cyrillic
    **dict(zip("αβγεηικνορτυχωϲϳ", "abyenikvoptuxwcj", strict=True)),  # Greek
}
# Digits and symbols written for letters. i and l are one letter once folded: 1, ! and | stand for either.
LEET = {"0": "o", "1": "i", "!": "i", "|": "i", "l": "i", "3": "e", "4": "a", "@": "a", "5": "s", "$": "s",
        "7": "t", "8": "b", "9": "g", "+": "t"}
# Punctuation more often than a letter: a letter only inside a word (sh!t), else a separator (card!).
INSIDE_WORDS_ONLY = frozenset("!|+")
SPACE = " "


@dataclass(frozen=True)
class Run:
    """One letter of the folded text, repeated ``count`` times, from ``start`` to ``end`` (exclusive) of the
    original text."""

    letter: str
    count: int
    start: int
    end: int


@dataclass(frozen=True)
class Folded:
    """A text folded for matching: ``letters`` is the folded text with every run collapsed to one letter (words
    between single spaces, a space at each end), ``runs[i]`` what ``letters[i]`` stands for."""

    letters: str
    runs: tuple[Run, ...]

    def span(self, first: int, last: int) -> tuple[int, int]:
        """The original text's span of folded letters ``first``..``last`` (inclusive)."""
        return self.runs[first].start, self.runs[last].end


def _letters(text: str) -> list[tuple[str, int]]:
    """Each character of ``text`` folded (possibly to none, or to several), with its index in ``text``."""
    out: list[tuple[str, int]] = []
    for index, character in enumerate(text):
        if character in INSIDE_WORDS_ONLY and not (0 < index < len(text) - 1 and text[index - 1].isalnum()
                                                    and text[index + 1].isalnum()):
            out.append((SPACE, index))
            continue
        for part in unicodedata.normalize("NFKD", character):
            if unicodedata.combining(part):
                continue
            for folded in part.casefold():
                folded = HOMOGLYPHS.get(folded, folded)
                folded = LEET.get(folded, folded)
                out.append((folded if folded.isalnum() else SPACE, index))
    return out


def _join_spelled_out(letters: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Drops the separators inside three or more letters written one at a time, each one character apart
    (``k i l l``, ``k.i.l.l``): the word they spell."""
    tokens: list[list[tuple[str, int]]] = []  # words and the separators between them, alternating
    for pair in letters:
        if tokens and (tokens[-1][0][0] == SPACE) == (pair[0] == SPACE):
            tokens[-1].append(pair)
        else:
            tokens.append([pair])
    out: list[tuple[str, int]] = []
    i = 0
    while i < len(tokens):
        j = i  # tokens[i:j+1] alternate lone letters and one-character separators
        while (len(tokens[j]) == 1 and tokens[j][0][0] != SPACE and j + 2 < len(tokens)
               and len(tokens[j + 1]) == 1 and len(tokens[j + 2]) == 1):
            j += 2
        if j - i >= 4 and len(tokens[j]) == 1:
            out.extend(tokens[k][0] for k in range(i, j + 1, 2))
            i = j + 1
        else:
            out.extend(tokens[i])
            i += 1
    return out


def fold(text: str) -> Folded:
    runs: list[Run] = []
    for letter, index in _join_spelled_out(_letters(text)):
        if runs and runs[-1].letter == letter:
            last = runs[-1]
            runs[-1] = Run(letter, last.count + (letter != SPACE), last.start, index + 1)
        else:
            runs.append(Run(letter, 1, index, index + 1))
    if not runs or runs[0].letter != SPACE:
        runs.insert(0, Run(SPACE, 1, 0, 0))
    if runs[-1].letter != SPACE:
        runs.append(Run(SPACE, 1, len(text), len(text)))
    return Folded("".join(run.letter for run in runs), tuple(runs))
