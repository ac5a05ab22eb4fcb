"""Judging one text by the policy's text categories: the evidence of each signal, and the strongest per category.

Three signals, each evidence of a category:
- a term of one of the team's banks (``banks.TermMatcher``), score 1: the team said so;
- the offensive-language classifier's probability, evidence of the policy's ``offensive_language`` category at
  ``offensive_language_min_score`` or more;
- closeness to a category's examples: the text's embedding at cosine ``semantic_min_similarity`` or more to one of
  them, and ``semantic_margin`` closer to it than to any counter-example (the category's own and the benign ones).
  Its score rises from 0.5 at the threshold to 1 at identity, so that a job's risk (severity x score) grows with how
  close the text is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vidsafe.policy import TextJudging
from vidsafe.text.banks import TermMatcher

TERM = "term"
OFFENSIVE_LANGUAGE = "offensive_language"
SEMANTIC = "semantic"


@dataclass(frozen=True)
class Evidence:
    signal: str  # TERM, OFFENSIVE_LANGUAGE or SEMANTIC
    category: str
    score: float
    start: int  # the span of the text it concerns (all of it, but for a term)
    end: int
    matched: str  # the term, or the category's nearest example; "" for the classifier
    bank_id: str | None = None
    translated: bool = False  # found in the reading's English rendering (speech in another language)


@dataclass(frozen=True)
class CategoryExamples:
    """The embeddings of every category's examples and of the counter-examples, to score texts against."""

    example_categories: tuple[str, ...]  # row i of ``examples`` is an example of this category
    example_texts: tuple[str, ...]
    examples: np.ndarray  # [E, D], unit length
    counter_categories: tuple[str | None, ...]  # None: a benign example, a counter-example of every category
    counters: np.ndarray  # [C, D], unit length
    categories: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", tuple(dict.fromkeys(self.example_categories)))


def example_texts(judging: TextJudging) -> tuple[list[tuple[str, str]], list[tuple[str | None, str]]]:
    """(category, example) and (category or None, counter-example) pairs: what ``CategoryExamples`` embeds."""
    examples = [(name, text) for name, c in judging.categories.items() for text in c.examples]
    counters = [(None, text) for text in judging.benign_examples]
    counters += [(name, text) for name, c in judging.categories.items() for text in c.counter_examples]
    return examples, counters


def semantic_score(similarity: float, min_similarity: float) -> float:
    return round(0.5 + 0.5 * (similarity - min_similarity) / max(1e-6, 1.0 - min_similarity), 4)


def semantic_evidence(vector: np.ndarray, examples: CategoryExamples, judging: TextJudging,
                      length: int) -> list[Evidence]:
    similarity = examples.examples @ vector
    counter = examples.counters @ vector
    found = []
    for category in examples.categories:
        rows = [i for i, c in enumerate(examples.example_categories) if c == category]
        best = max(rows, key=lambda i: similarity[i])
        against = [counter[i] for i, c in enumerate(examples.counter_categories) if c in (None, category)]
        closest_counter = max(against, default=-1.0)
        if (similarity[best] >= judging.semantic_min_similarity
                and similarity[best] - closest_counter >= judging.semantic_margin):
            found.append(Evidence(SEMANTIC, category, semantic_score(float(similarity[best]),
                                                                     judging.semantic_min_similarity),
                                  0, length, examples.example_texts[best]))
    return found


def judge(text: str, vector: np.ndarray | None, offensive: float | None, matcher: TermMatcher | None,
          examples: CategoryExamples | None, judging: TextJudging) -> list[Evidence]:
    """Every signal's evidence on ``text``: ``vector`` its embedding, ``offensive`` the classifier's probability
    (None: that signal is not used)."""
    evidence = [Evidence(TERM, m.category, 1.0, m.start, m.end, m.term, m.bank_id)
                for m in (matcher.matches(text) if matcher else [])]
    if (offensive is not None and judging.offensive_language is not None
            and offensive >= judging.offensive_language_min_score):
        evidence.append(Evidence(OFFENSIVE_LANGUAGE, judging.offensive_language, round(offensive, 4), 0, len(text),
                                 ""))
    if vector is not None and examples is not None:
        evidence += semantic_evidence(vector, examples, judging, len(text))
    return evidence


def by_category(evidence: list[Evidence]) -> dict[str, list[Evidence]]:
    """Each category's evidence, strongest first."""
    grouped: dict[str, list[Evidence]] = {}
    for item in sorted(evidence, key=lambda e: -e.score):
        grouped.setdefault(item.category, []).append(item)
    return grouped
