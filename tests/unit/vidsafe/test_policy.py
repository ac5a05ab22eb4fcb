"""Policy documents: the default one built from the settings, what a document refuses, its limits."""

from __future__ import annotations

import pydantic
import pytest

from vidsafe.catalogue import Module
from vidsafe.domain.policies import EXAMPLES_PER_CATEGORY, PolicyCategory, PolicyDocument, Signal, TextThresholds
from vidsafe.policy import default_document, default_policy, flat_severities, policy_banks, text_judging
from vidsafe.settings import Settings


def test_the_default_groups_signals_into_categories_across_modules() -> None:
    policy = default_document(Settings().risk_severities)
    restraint = policy.category("restraint")
    assert restraint is not None and {s.module for s in restraint.signals} == {Module.restraint, Module.clip}
    self_harm = policy.category("self_harm")
    assert self_harm is not None and {s.module for s in self_harm.signals} == {Module.clip, Module.text}
    assert self_harm.examples, "a text category keeps its examples"
    assert flat_severities(policy) == Settings().risk_severities
    judging = text_judging(policy)
    assert set(judging.categories) == set(default_policy().text.categories)
    assert judging.semantic_min_similarity == default_policy().text.semantic_min_similarity


@pytest.mark.parametrize(("categories", "text", "message"), [
    ([{"name": "spam", "severity": 0.2}, {"name": "spam", "severity": 0.3}], {}, "category names repeat"),
    ([{"name": "spam", "severity": 0.2, "signals": [{"module": "text", "labels": ["scams"]}]}], {},
     "a text signal names no category ['scams']"),
    ([{"name": "spam", "severity": 0.2}], {"offensive_language": "harassment"},
     "text.offensive_language names no category"),
    ([{"name": "spam", "severity": 0.2, "counter_examples": ["hello"]}], {}, "has counter-examples but no examples"),
    ([{"name": "Spam!", "severity": 0.2}], {}, "String should match pattern"),
    ([{"name": "spam", "severity": 2}], {}, "less than or equal to 1"),
    ([{"name": "spam", "severity": 0.2, "signals": [{"module": "telepathy"}]}], {}, "Input should be"),
])
def test_a_wrong_document_is_refused_saying_why(categories: list, text: dict, message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        PolicyDocument.model_validate({"categories": categories, "text": {"offensive_language": None, **text}})


def test_limits_are_said_not_refused_as_malformed() -> None:
    crowded = PolicyDocument(categories=[PolicyCategory(name="spam", severity=0.2,
                                                        examples=["buy now"] * (EXAMPLES_PER_CATEGORY + 1))],
                             text=TextThresholds(offensive_language=None))
    assert crowded.limit_passed() == f"category 'spam' has {EXAMPLES_PER_CATEGORY + 1} examples: at most 200"
    fine = PolicyDocument(categories=[PolicyCategory(name="spam", severity=0.2, signals=[Signal(module=Module.text,
                                                                                          labels=["spam"])])],
                          text=TextThresholds(offensive_language=None))
    assert fine.limit_passed() is None and fine.text_categories == ["spam"]


def test_a_categorys_terms_are_a_bank_of_its_own_and_a_bad_one_is_named() -> None:
    live = PolicyDocument(categories=[PolicyCategory(name="spam", severity=0.2, terms=["buy now"])],
                          text=TextThresholds(offensive_language=None))
    candidate = live.model_copy(update={"categories": [PolicyCategory(name="spam", severity=0.2,
                                                                      terms=["buy now", "re:free\\s+followers"])]})
    [bank] = policy_banks(candidate)
    assert (bank.bank_id, bank.category, len(bank.terms)) == ("policy:spam", "spam", 2)
    [new] = policy_banks(candidate, only_new_since=live)
    assert [t.text for t in new.terms] == ["free\\s+followers"]
    with pytest.raises(pydantic.ValidationError, match="category 'spam', terms line 2: not a regular expression"):
        PolicyDocument.model_validate({"categories": [{"name": "spam", "severity": 0.2, "terms": ["ok", "re:(?=x)"]}],
                                       "text": {"offensive_language": None}})
