"""The default policy (policy.toml): categories' severities and CLIP's zero-shot categories, the defaults of the
settings a deployment judges by; and how a category's severity is looked up."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from vidsafe.catalogue import module_severities

POLICY_PATH = Path(__file__).with_name("policy.toml")


@dataclass(frozen=True)
class DefaultPolicy:
    clip_categories: dict[str, list[str]]  # category -> prompts
    clip_severities: dict[str, float]  # category -> severity (categories without one contribute nothing)
    clip_neutral_category: str | None


@cache
def default_policy() -> DefaultPolicy:
    raw = tomllib.loads(POLICY_PATH.read_text())
    categories = raw["clip_categories"]
    return DefaultPolicy(clip_categories={name: list(c["prompts"]) for name, c in categories.items()},
                         clip_severities={name: c["severity"] for name, c in categories.items() if "severity" in c},
                         clip_neutral_category=raw.get("clip_neutral_category"))


def default_severities() -> dict[str, float]:
    """The risk_severities setting's default: the modules' own (their catalogue entries) and CLIP's categories'."""
    clip = {f"clip:{name}": value for name, value in default_policy().clip_severities.items()}
    return module_severities() | clip


def category_severity(module: str, label: str, severities: dict[str, float]) -> float:
    """A category's severity (the ``risk_severities`` setting): ``module:label``'s own, else ``module``'s, else 0."""
    return severities.get(f"{module}:{label}", severities.get(str(module), 0.0))
