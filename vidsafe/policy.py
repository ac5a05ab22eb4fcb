"""The policy a team judges by: the deployment's default (policy.toml, beside this file, and the settings), and what a
policy document decides: the severity and category of a segment, how texts are judged.

A team judges by its live policy version (``vidsafe/db/policies.py``), or, until it saves one, by the default
document this module builds from the ``risk_severities``, CLIP and text settings: one category per CLIP or text
category and per module with a severity, each signal carrying the severity the setting gives it, so that the
default document's risk is the settings' exactly.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from vidsafe.catalogue import Module, module_severities
from vidsafe.domain.policies import PolicyCategory, PolicyDocument, Signal, TextThresholds
from vidsafe.text.banks import BankTerms, parse_terms

POLICY_PATH = Path(__file__).with_name("policy.toml")


@dataclass(frozen=True)
class TextCategory:
    name: str
    severity: float
    description: str
    examples: tuple[str, ...]  # what the category looks like
    counter_examples: tuple[str, ...]  # harmless lines that read alike


@dataclass(frozen=True)
class TextJudging:
    """How texts are judged against the text categories (policy.toml's [text_judging])."""

    categories: dict[str, TextCategory]
    benign_examples: tuple[str, ...]  # counter-examples of every category
    semantic_min_similarity: float
    semantic_margin: float
    offensive_language: str | None  # the category the offensive-language classifier evidences
    offensive_language_min_score: float


@dataclass(frozen=True)
class DefaultPolicy:
    clip_categories: dict[str, list[str]]  # category -> prompts
    clip_severities: dict[str, float]  # category -> severity (categories without one contribute nothing)
    clip_neutral_category: str | None
    text: TextJudging


@cache
def default_policy() -> DefaultPolicy:
    raw = tomllib.loads(POLICY_PATH.read_text())
    categories = raw["clip_categories"]
    return DefaultPolicy(clip_categories={name: list(c["prompts"]) for name, c in categories.items()},
                         clip_severities={name: c["severity"] for name, c in categories.items() if "severity" in c},
                         clip_neutral_category=raw.get("clip_neutral_category"),
                         text=_text_judging(raw["text_judging"], raw["text_categories"]))


def _text_judging(judging: dict, categories: dict) -> TextJudging:
    return TextJudging(
        categories={name: TextCategory(name=name, severity=c["severity"], description=c["description"],
                                       examples=tuple(c["examples"]), counter_examples=tuple(c["counter_examples"]))
                    for name, c in categories.items()},
        benign_examples=tuple(judging["benign_examples"]),
        semantic_min_similarity=judging["semantic_min_similarity"], semantic_margin=judging["semantic_margin"],
        offensive_language=judging["offensive_language"],
        offensive_language_min_score=judging["offensive_language_min_score"])


def default_severities() -> dict[str, float]:
    """The risk_severities setting's default: the modules' own (their catalogue entries), CLIP's categories' and the
    text categories'."""
    policy = default_policy()
    clip = {f"clip:{name}": value for name, value in policy.clip_severities.items()}
    text = {f"text:{name}": c.severity for name, c in policy.text.categories.items()}
    return module_severities() | clip | text


def category_severity(module: str, label: str, severities: dict[str, float]) -> float:
    """A category's severity in a flat map (``flat_severities``, the ``risk_severities`` setting): ``module:label``'s
    own, else ``module``'s, else 0."""
    return severities.get(f"{module}:{label}", severities.get(str(module), 0.0))


def _category_name(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9_]", "_", name.lower())[:63]
    return cleaned if cleaned[:1].isalpha() else f"c_{cleaned}"[:63]


def default_document(severities: dict[str, float]) -> PolicyDocument:
    """The deployment's default policy: the severities (``risk_severities``) as signals, grouped into categories (a
    CLIP or text category by its name, a module's labels in the module's), with the text categories' examples."""
    text = default_policy().text
    categories: dict[str, PolicyCategory] = {}

    def category(name: str) -> PolicyCategory:
        return categories.setdefault(name, PolicyCategory(name=name, severity=0.0))

    for key, severity in severities.items():
        module, _, label = key.partition(":")
        if module not in Module.__members__:
            continue
        found = category(_category_name(label if module in ("clip", "text") and label else module))
        found.signals.append(Signal(module=Module(module), labels=[label] if label else [], severity=severity))
        found.severity = max(found.severity, severity)
    for name, described in text.categories.items():
        found = category(name)
        found.description = described.description
        found.examples, found.counter_examples = list(described.examples), list(described.counter_examples)
    offensive = text.offensive_language if text.offensive_language in categories else None
    return PolicyDocument(categories=list(categories.values()), benign_examples=list(text.benign_examples),
                          text=TextThresholds(semantic_min_similarity=text.semantic_min_similarity,
                                              semantic_margin=text.semantic_margin, offensive_language=offensive,
                                              offensive_language_min_score=text.offensive_language_min_score))


def text_judging(document: PolicyDocument) -> TextJudging:
    """How the text module judges by ``document``: its categories with examples, its thresholds."""
    return TextJudging(
        categories={c.name: TextCategory(name=c.name, severity=c.severity, description=c.description,
                                         examples=tuple(c.examples), counter_examples=tuple(c.counter_examples))
                    for c in document.categories if c.examples},
        benign_examples=tuple(document.benign_examples),
        semantic_min_similarity=document.text.semantic_min_similarity,
        semantic_margin=document.text.semantic_margin, offensive_language=document.text.offensive_language,
        offensive_language_min_score=document.text.offensive_language_min_score)


def segment_severity(document: PolicyDocument, module: str, label: str, score: float) -> tuple[float, str | None]:
    """The severity of a segment of ``module``'s ``label`` scoring ``score``, and the category that gives it: of
    the signals naming the label, else of those naming the whole module, the most severe whose min_score the segment
    reaches; (0, None) where none does."""
    named: list[tuple[float, str]] = []
    whole: list[tuple[float, str]] = []
    for category in document.categories:
        for signal in category.signals:
            if signal.module != module or (signal.labels and label not in signal.labels):
                continue
            severity = category.severity if signal.severity is None else signal.severity
            (named if signal.labels else whole).append((severity, category.name) if score >= signal.min_score
                                                       else (0.0, category.name))
    return max(named or whole or [(0.0, None)], key=lambda found: found[0])


def segment_categories(document: PolicyDocument, module: str, label: str, score: float) -> frozenset[str]:
    """Every category whose signals rate a segment of ``module``'s ``label`` scoring ``score`` above 0 (a label's
    own signals, else the whole module's, as ``segment_severity`` takes them), and for the text module its label:
    what a rule's category condition counts."""
    named: dict[str, bool] = {}  # category -> whether it rates the segment above 0
    whole: dict[str, bool] = {}
    for category in document.categories:
        for signal in category.signals:
            if signal.module != module or (signal.labels and label not in signal.labels):
                continue
            severity = category.severity if signal.severity is None else signal.severity
            found = named if signal.labels else whole
            found[category.name] = found.get(category.name, False) or (severity > 0 and score >= signal.min_score)
    own = {label} if module == Module.text and document.category(label) is not None else set()
    return frozenset({name for name, rates in (named or whole).items() if rates} | own)


def flat_severities(document: PolicyDocument) -> dict[str, float]:
    """The document's severities keyed as ``risk_severities`` is (``module:label``, ``module``), for what shows
    them (the review UI's blurring, the "why")."""
    flat: dict[str, float] = {}
    for category in document.categories:
        for signal in category.signals:
            severity = category.severity if signal.severity is None else signal.severity
            for key in [f"{signal.module}:{label}" for label in signal.labels] or [str(signal.module)]:
                flat[key] = max(flat.get(key, 0.0), severity)
    return flat


def policy_banks(document: PolicyDocument, only_new_since: PolicyDocument | None = None) -> list[BankTerms]:
    """The categories' own terms as banks (beside the team's term banks); with ``only_new_since``, only the terms
    that document's category lacks."""
    banks = []
    for category in document.categories:
        before = only_new_since.category(category.name) if only_new_since is not None else None
        lines = [t for t in category.terms if before is None or t not in before.terms]
        if lines:
            banks.append(BankTerms(f"policy:{category.name}", category.name, parse_terms("\n".join(lines))))
    return banks
