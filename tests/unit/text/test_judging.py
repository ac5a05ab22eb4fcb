"""One text's evidence: each signal by its threshold, counter-examples pushing false matches down, the strongest
evidence of a category first."""

from __future__ import annotations

import dataclasses

import numpy as np

from vidsafe.policy import default_policy
from vidsafe.text.banks import BankTerms, Term, TermKind, TermMatcher
from vidsafe.text.judging import (
    OFFENSIVE_LANGUAGE,
    SEMANTIC,
    TERM,
    CategoryExamples,
    by_category,
    judge,
    semantic_score,
)

JUDGING = dataclasses.replace(default_policy().text, semantic_min_similarity=0.5, semantic_margin=0.05,
                              offensive_language_min_score=0.9)


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


# Two categories' examples along two axes; a counter-example of scams near its example.
EXAMPLES = CategoryExamples(
    example_categories=("scams", "threats"), example_texts=("claim your prize", "I will hurt you"),
    examples=np.stack([unit(1, 0, 0), unit(0, 1, 0)]),
    counter_categories=("scams", None), counters=np.stack([unit(1, 0, 0.3), unit(0, 0, 1)]),
)


def test_closeness_to_an_example_is_evidence_unless_a_counter_example_is_as_close() -> None:
    [near_threat] = judge("x", unit(0.1, 1, 0), None, None, EXAMPLES, JUDGING)
    assert (near_threat.signal, near_threat.category, near_threat.matched) == (SEMANTIC, "threats", "I will hurt you")
    assert near_threat.score == semantic_score(float(unit(0.1, 1, 0) @ unit(0, 1, 0)), 0.5) > 0.9
    assert judge("x", unit(1, 0, 0.3), None, None, EXAMPLES, JUDGING) == [], "its counter-example is closer"
    assert judge("x", unit(0, 0, 1), None, None, EXAMPLES, JUDGING) == [], "far from every example"


def test_the_classifier_speaks_for_its_category_at_its_threshold() -> None:
    assert judge("x", None, 0.89, None, None, JUDGING) == []
    [said] = judge("you stupid idiot", None, 0.95, None, None, JUDGING)
    assert (said.signal, said.category, said.score, said.start, said.end) == (OFFENSIVE_LANGUAGE, "harassment", 0.95,
                                                                              0, 16)


def test_the_strongest_evidence_of_each_category_comes_first() -> None:
    matcher = TermMatcher([BankTerms("bank", "harassment", [Term(TermKind.phrase, "idiot")])])
    evidence = judge("you stupid idiot", unit(0.1, 1, 0), 0.95, matcher, EXAMPLES, JUDGING)
    grouped = by_category(evidence)
    assert [e.signal for e in grouped["harassment"]] == [TERM, OFFENSIVE_LANGUAGE]
    assert grouped["harassment"][0].bank_id == "bank" and (grouped["harassment"][0].start, 16) == (11, 16)
    assert [e.signal for e in grouped["threats"]] == [SEMANTIC]
