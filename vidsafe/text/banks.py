"""Term banks: the words, phrases and regular expressions a team looks for in what is said and written.

A bank holds terms of one category. Phrases match whole words, through every evasion ``folding`` undoes, all of a
team's banks at once in one Aho-Corasick automaton (pyahocorasick): its time grows with the text, not the number of
terms. Regular expressions run on RE2 (google-re2), which never backtracks: a pattern that would need to
(backreferences, lookaround) is refused with its line when the bank is saved, as is one that does not compile.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import ahocorasick
import re2

from vidsafe.text.folding import SPACE, Folded, fold

TERMS_PER_BANK = 100_000
REGEXES_PER_BANK = 1_000
TERM_CHARS = 200
REGEX_MEMORY = 8 << 20  # bytes RE2 may use for one compiled pattern


class TermKind(StrEnum):
    phrase = "phrase"
    regex = "regex"


@dataclass(frozen=True)
class Term:
    kind: TermKind
    text: str


@dataclass(frozen=True)
class BankTerms:
    """A bank as the matcher needs it: its id, category and terms."""

    bank_id: str
    category: str
    terms: Sequence[Term]


@dataclass(frozen=True)
class TermMatch:
    bank_id: str
    category: str
    term: str
    start: int  # the matched span of the text, in characters
    end: int


class TermError(ValueError):
    """A term that cannot be saved, with its line (1-based) in what was imported."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def _regex_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = False
    options.max_mem = REGEX_MEMORY
    return options


def compile_regex(pattern: str) -> re2._Regexp:
    """``pattern`` compiled by RE2 (case-insensitive), or ValueError saying why RE2 refuses it."""
    try:
        return re2.compile(pattern, _regex_options())
    except re2.error as error:
        reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        raise ValueError(f"not a regular expression RE2 runs in linear time: {reason}") from None


REGEX_PREFIX = "re:"
COMMENT = "#"


def parse_terms(content: str, already: int = 0) -> list[Term]:
    """A bank file's terms: one per line, a regular expression after ``re:``, ``#`` comments and blank lines
    skipped; or TermError naming the first line that cannot be saved. ``already``: terms the bank has."""
    terms: list[Term] = []
    regexes = 0
    for line, raw in enumerate(content.splitlines(), start=1):
        text = raw.strip()
        if not text or text.startswith(COMMENT):
            continue
        kind = TermKind.regex if text.startswith(REGEX_PREFIX) else TermKind.phrase
        if kind == TermKind.regex:
            text = text.removeprefix(REGEX_PREFIX).strip()
        terms.append(_checked(line, Term(kind, text)))
        regexes += kind == TermKind.regex
        if regexes > REGEXES_PER_BANK:
            raise TermError(line, f"more than {REGEXES_PER_BANK} regular expressions in one bank")
        if already + len(terms) > TERMS_PER_BANK:
            raise TermError(line, f"more than {TERMS_PER_BANK} terms in one bank")
    return terms


def _checked(line: int, term: Term) -> Term:
    if not term.text:
        raise TermError(line, "empty term")
    if len(term.text) > TERM_CHARS:
        raise TermError(line, f"longer than {TERM_CHARS} characters")
    if term.kind == TermKind.regex:
        try:
            compile_regex(term.text)
        except ValueError as error:
            raise TermError(line, str(error)) from None
    elif not fold(term.text).letters.strip():
        raise TermError(line, "no letter or digit to match")
    return term


def term_line(term: Term) -> str:
    """The term as a line of a bank file."""
    return f"{REGEX_PREFIX}{term.text}" if term.kind == TermKind.regex else term.text


@dataclass(frozen=True)
class _Phrase:
    bank: BankTerms
    term: str
    counts: tuple[int, ...]  # each folded letter's least repetition, spaces included (1)


class TermMatcher:
    """All of a team's banks compiled once, to match many texts."""

    def __init__(self, banks: Iterable[BankTerms]) -> None:
        self._automaton = ahocorasick.Automaton()
        self._regexes: list[tuple[BankTerms, str, re2._Regexp]] = []
        for bank in banks:
            for term in bank.terms:
                if term.kind == TermKind.regex:
                    self._regexes.append((bank, term.text, compile_regex(term.text)))
                    continue
                folded = fold(term.text)
                phrase = _Phrase(bank, term.text, tuple(run.count for run in folded.runs))
                existing = self._automaton.get(folded.letters, None)
                self._automaton.add_word(folded.letters, (*existing, phrase) if existing else (phrase,))
        self._has_phrases = len(self._automaton) > 0
        if self._has_phrases:
            self._automaton.make_automaton()

    def matches(self, text: str) -> list[TermMatch]:
        found: list[TermMatch] = []
        if self._has_phrases:
            folded = fold(text)
            for last, phrases in self._automaton.iter(folded.letters):
                first = last - len(phrases[0].counts) + 1
                found.extend(self._phrase_match(folded, first, last, phrase) for phrase in phrases
                             if _repeated_enough(folded, first, phrase.counts))
        for bank, pattern, regex in self._regexes:
            found.extend(TermMatch(bank.bank_id, bank.category, pattern, m.start(), m.end())
                         for m in regex.finditer(text) if m.end() > m.start())
        return found

    @staticmethod
    def _phrase_match(folded: Folded, first: int, last: int, phrase: _Phrase) -> TermMatch:
        # The phrase's letters lie between the spaces that bound it.
        start, end = folded.span(first + 1, last - 1)
        return TermMatch(phrase.bank.bank_id, phrase.bank.category, phrase.term, start, end)


def _repeated_enough(folded: Folded, first: int, counts: tuple[int, ...]) -> bool:
    """Each letter of the text at least as often as the term's (``ass`` is not ``as``; ``asss`` is ``ass``)."""
    return all(run.letter == SPACE or run.count >= count
               for run, count in zip(folded.runs[first:first + len(counts)], counts, strict=True))
