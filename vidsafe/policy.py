"""The default policy (policy.toml): categories' severities, CLIP's zero-shot categories and the categories of what
is said and written, the defaults of the settings a deployment judges by; and how a category's severity is looked
up."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from vidsafe.catalogue import module_severities

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
    offensive_language: str  # the category the offensive-language classifier evidences
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
    """A category's severity (the ``risk_severities`` setting): ``module:label``'s own, else ``module``'s, else 0."""
    return severities.get(f"{module}:{label}", severities.get(str(module), 0.0))
