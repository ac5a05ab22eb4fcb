"""Term banks: phrases through evasions as whole words, RE2 regular expressions, files refused with their line."""

from __future__ import annotations

import pytest

from vidsafe.text.banks import (
    REGEXES_PER_BANK,
    BankTerms,
    Term,
    TermError,
    TermKind,
    TermMatcher,
    parse_terms,
    term_line,
)

SCAMS = BankTerms("b1", "scams", [Term(TermKind.phrase, "gift card"), Term(TermKind.phrase, "double your money"),
                                  Term(TermKind.regex, r"bank\s+details?")])
INSULTS = BankTerms("b2", "harassment", [Term(TermKind.phrase, "ass"), Term(TermKind.phrase, "idiot")])


@pytest.fixture(scope="module")
def matcher() -> TermMatcher:
    return TermMatcher([SCAMS, INSULTS])


def matched(matcher: TermMatcher, text: str) -> list[tuple[str, str, str]]:
    return sorted((m.category, m.term, text[m.start:m.end]) for m in matcher.matches(text))


@pytest.mark.parametrize(("text", "span"), [
    ("you absolute idiot", "idiot"),
    ("what an 1d10t", "1d10t"),
    ("IDIOOOOT", "IDIOOOOT"),
    ("i.d.i.o.t!", "i.d.i.o.t"),
    ("\u0399di\u03bft", "\u0399di\u03bft"),  # Greek capital iota and small omicron
    ("ｉｄｉｏｔ", "ｉｄｉｏｔ"),  # noqa: RUF001 - full-width letters are the point
])
def test_a_phrase_matches_through_evasions(matcher: TermMatcher, text: str, span: str) -> None:
    assert matched(matcher, text) == [("harassment", "idiot", span)]


@pytest.mark.parametrize("text", ["as you wish", "first class, green grass", "idiotic", "giftcard", "gift"])
def test_whole_words_only_and_no_fewer_letters(matcher: TermMatcher, text: str) -> None:
    assert matched(matcher, text) == []


def test_phrases_and_regular_expressions_of_several_banks_at_once(matcher: TermMatcher) -> None:
    text = "send me your Bank  Details and I will d o u b l e your money, you a$$"
    assert matched(matcher, text) == [("harassment", "ass", "a$$"), ("scams", r"bank\s+details?", "Bank  Details"),
                                      ("scams", "double your money", "d o u b l e your money")]


def test_one_term_in_two_banks_matches_for_both() -> None:
    twice = TermMatcher([BankTerms("a", "spam", [Term(TermKind.phrase, "free")]),
                         BankTerms("b", "scams", [Term(TermKind.phrase, "FREE")])])
    assert sorted(m.bank_id for m in twice.matches("free stuff")) == ["a", "b"]


def test_a_file_parses_to_terms_and_back() -> None:
    content = "# scams\ngift card\n\n  re:bank\\s+details?  \ndouble your money\n"
    terms = parse_terms(content)
    assert terms == [Term(TermKind.phrase, "gift card"), Term(TermKind.regex, r"bank\s+details?"),
                     Term(TermKind.phrase, "double your money")]
    assert parse_terms("\n".join(term_line(t) for t in terms)) == terms


@pytest.mark.parametrize(("content", "message"), [
    ("ok\nre:(a+)+\\1\n", r"line 2: not a regular expression RE2 runs in linear time: invalid escape sequence: \1"),
    ("ok\nre:(?=lookahead)\n", "line 2: not a regular expression RE2 runs in linear time: invalid perl operator: (?="),
    ("ok\nre:[unclosed\n", "line 2: not a regular expression RE2 runs in linear time: missing ]: [unclosed"),
    ("ok\n\nre:\n", "line 3: empty term"),
    ("...\n", "line 1: no letter or digit to match"),
    ("x" * 201, "line 1: longer than 200 characters"),
])
def test_a_line_that_cannot_be_saved_is_named(content: str, message: str) -> None:
    with pytest.raises(TermError) as refused:
        parse_terms(content)
    assert str(refused.value) == message


def test_limits_are_refused_at_the_line_past_them() -> None:
    with pytest.raises(TermError, match=f"line {REGEXES_PER_BANK + 1}: more than {REGEXES_PER_BANK} regular"):
        parse_terms("\n".join(f"re:word{i}" for i in range(REGEXES_PER_BANK + 1)))
    with pytest.raises(TermError, match="line 2: more than 100000 terms in one bank"):
        parse_terms("one\ntwo\n", already=99_999)


def test_a_pathological_pattern_runs_in_linear_time_on_re2() -> None:
    # (a+)+$ takes exponential time on a backtracking engine for "aaaa...b"; RE2 answers at once.
    slow_for_backtracking = TermMatcher([BankTerms("r", "spam", parse_terms("re:(a+)+$"))])
    assert slow_for_backtracking.matches("a" * 50_000 + "b") == []
