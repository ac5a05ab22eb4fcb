"""A team's policy: the categories it moderates by, each mapped to the signals that evidence it, with thresholds and
severities; versioned, every change a new version, each job judged by one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from vidsafe.catalogue import Module
from vidsafe.domain.fields import BackgroundState, Score, StrictModel, Text
from vidsafe.domain.rules import (
    BUILT_IN_QUEUES,
    CONDITIONS_PER_RULE,
    QUEUES_PER_POLICY,
    RESERVED_QUEUE_NAMES,
    RULES_PER_POLICY,
    QueueSpec,
    Route,
    Rule,
    RuleDryRun,
)
from vidsafe.text.banks import TermError, parse_terms

# The risk at which a job's suggested action becomes review, and escalate: what "flagged" means in a dry run.
REVIEW_AT, ESCALATE_AT = 0.3, 0.8
CATEGORIES_PER_POLICY = 100
SIGNALS_PER_CATEGORY = 50
EXAMPLES_PER_CATEGORY = 200
BENIGN_EXAMPLES = 500
EXAMPLE_CHARS = 500
TERMS_PER_CATEGORY = 1000
TERM_LINE_CHARS = 203  # a term (200 characters) and its "re:"
CATEGORY_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"

CategoryName = Annotated[str, Field(pattern=CATEGORY_PATTERN, description="Lower-case letters, digits and _")]
Example = Annotated[Text, Field(min_length=1, max_length=EXAMPLE_CHARS)]


class Signal(StrictModel):
    """Findings of a module (of some of its labels) that evidence a category."""

    module: Module
    labels: list[Annotated[Text, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=200, description="The module's labels that count (for the text module: "
        "text categories); none: every label")
    min_score: Score = Field(default=0.0, description="Findings scoring less do not count")
    severity: Score | None = Field(default=None, description="This signal's own severity, in place of the "
                                   "category's")


class PolicyCategory(StrictModel):
    name: CategoryName
    description: Text = Field(default="", max_length=2000)
    severity: Score = Field(description="0..1: a segment of the category raises its job's risk by severity x score")
    subcategories: list[CategoryName] = Field(default_factory=list, max_length=50)
    signals: list[Signal] = Field(default_factory=list, description=f"At most {SIGNALS_PER_CATEGORY}")
    examples: list[Example] = Field(default_factory=list, description="What the category looks like said or "
                                    f"written: texts close to one are judged of it. At most {EXAMPLES_PER_CATEGORY}")
    counter_examples: list[Example] = Field(default_factory=list, description="Harmless texts that read alike: "
                                            f"push false matches down. At most {EXAMPLES_PER_CATEGORY}")
    terms: list[Annotated[Text, Field(min_length=1, max_length=TERM_LINE_CHARS)]] = Field(
        default_factory=list, description="Words and phrases of the category, matched in what is said and written "
        "through evasions, as a term bank's lines (`re:` before a regular expression, RE2). At most "
        f"{TERMS_PER_CATEGORY}; a longer list belongs in a term bank")


class TextThresholds(StrictModel):
    """How texts are judged against the categories with examples."""

    semantic_min_similarity: Score = 0.45
    semantic_margin: Score = 0.0
    offensive_language: CategoryName | None = Field(default="harassment", description="The category the "
                                                    "offensive-language classifier evidences; none: not used")
    offensive_language_min_score: Score = 0.9


class PolicyDocument(StrictModel):
    """What a lead writes: the categories, the examples of harmless text, the text thresholds."""

    categories: list[PolicyCategory] = Field(description=f"At most {CATEGORIES_PER_POLICY}")
    benign_examples: list[Example] = Field(default_factory=list, description="Harmless texts: counter-examples of "
                                           f"every category. At most {BENIGN_EXAMPLES}")
    text: TextThresholds = Field(default_factory=TextThresholds)
    queues: list[QueueSpec] = Field(default_factory=list, description="Review queues of the team's own, besides "
                                    f"review and escalation, that rules route to. At most {QUEUES_PER_POLICY}")
    rules: list[Rule] = Field(default_factory=list, description=f"At most {RULES_PER_POLICY}")

    @model_validator(mode="after")
    def _consistent(self) -> PolicyDocument:
        names = [c.name for c in self.categories]
        for what, listed in (("category", names), ("queue", [q.name for q in self.queues]),
                             ("rule", [r.name for r in self.rules])):
            if len(set(listed)) != len(listed):
                raise ValueError(f"{what} names repeat: {sorted({n for n in listed if listed.count(n) > 1})}")
        self._rules_consistent(set(names))
        if self.text.offensive_language is not None and self.text.offensive_language not in names:
            raise ValueError(f"text.offensive_language names no category: {self.text.offensive_language!r}")
        texts = {c.name for c in self.categories if c.examples}
        for category in self.categories:
            for signal in category.signals:
                if signal.module == Module.text:
                    unknown = sorted(set(signal.labels) - set(names))
                    if unknown:
                        raise ValueError(f"category {category.name!r}: a text signal names no category {unknown}")
            if category.counter_examples and category.name not in texts:
                raise ValueError(f"category {category.name!r} has counter-examples but no examples")
            try:
                parse_terms("\n".join(category.terms))
            except TermError as error:
                raise ValueError(f"category {category.name!r}, terms {error}") from None
        return self

    def _rules_consistent(self, categories: set[str]) -> None:
        reserved = sorted({q.name for q in self.queues} & set(RESERVED_QUEUE_NAMES))
        if reserved:
            raise ValueError(f"queue names {reserved} are taken (built in, or the count of claimed items): declare "
                             "only queues of the team's own")
        queues = set(BUILT_IN_QUEUES) | {q.name for q in self.queues}
        for rule in self.rules:
            unknown = sorted({c.category for c in rule.conditions if c.category} - categories)
            if unknown:
                raise ValueError(f"rule {rule.name!r} names no category of the policy: {unknown}")
            routed = sorted({a.queue for a in rule.actions if isinstance(a, Route)} - queues)
            if routed:
                raise ValueError(f"rule {rule.name!r} routes to no queue the policy has: {routed} (declare it in "
                                 "queues)")

    def limit_passed(self) -> str | None:
        """What passes a limit of a policy's size, if anything (answered with its own code, not as a malformed
        body)."""
        if len(self.categories) > CATEGORIES_PER_POLICY:
            return f"{len(self.categories)} categories: at most {CATEGORIES_PER_POLICY}"
        if len(self.benign_examples) > BENIGN_EXAMPLES:
            return f"{len(self.benign_examples)} benign examples: at most {BENIGN_EXAMPLES}"
        for category in self.categories:
            for what, items, most in (("signals", category.signals, SIGNALS_PER_CATEGORY),
                                      ("terms", category.terms, TERMS_PER_CATEGORY),
                                      ("examples", category.examples, EXAMPLES_PER_CATEGORY),
                                      ("counter-examples", category.counter_examples, EXAMPLES_PER_CATEGORY)):
                if len(items) > most:
                    return f"category {category.name!r} has {len(items)} {what}: at most {most}"
        return None

    def rules_limit_passed(self) -> str | None:
        """What passes a limit of the rules' (rules, their conditions, queues), if anything."""
        if len(self.rules) > RULES_PER_POLICY:
            return f"{len(self.rules)} rules: at most {RULES_PER_POLICY}"
        if len(self.queues) > QUEUES_PER_POLICY:
            return f"{len(self.queues)} queues: at most {QUEUES_PER_POLICY}"
        for rule in self.rules:
            if len(rule.conditions) > CONDITIONS_PER_RULE:
                return f"rule {rule.name!r} has {len(rule.conditions)} conditions: at most {CONDITIONS_PER_RULE}"
        return None

    def category(self, name: str) -> PolicyCategory | None:
        return next((c for c in self.categories if c.name == name), None)

    @property
    def text_categories(self) -> list[str]:
        """The categories texts are judged by: those with examples or terms, and those a text signal names."""
        named = {label for c in self.categories for s in c.signals if s.module == Module.text for label in s.labels}
        return [c.name for c in self.categories if c.examples or c.terms or c.name in named]


class Policy(BaseModel):
    """A version of a team's policy; version 0 is the deployment's default, which a team has until it saves one."""

    version: int
    created_at: datetime | None
    created_by: str | None = Field(description="The key that saved it; none for the default")
    live: bool = Field(description="The version new jobs are judged by: the newest")
    document: PolicyDocument


class PolicyVersion(BaseModel):
    """A version in the list of a team's versions."""

    version: int
    created_at: datetime
    created_by: str
    live: bool
    categories: int


class JobChange(BaseModel):
    """A past job whose risk or place in the queue a policy would change."""

    job_id: UUID
    source_name: str
    risk_before: float
    risk_after: float
    rank_before: int = Field(description="Its place among the jobs compared, riskiest first (1-based)")
    rank_after: int
    categories_after: list[str] = Field(description="The categories that drive its risk under the policy")


class DryRun(BaseModel):
    """What a policy would change on the team's past jobs, changing nothing: their risk recomputed from their
    segments as they are."""

    compared_version: int = Field(description="The live version the jobs are compared against")
    jobs_compared: int
    flag_at: float = Field(description="A job is flagged at this risk or more (suggested action: review)")
    newly_flagged: int
    no_longer_flagged: int
    risk_changed: int
    examples_newly_flagged: list[JobChange]
    examples_no_longer_flagged: list[JobChange]
    largest_moves: list[JobChange] = Field(description="The jobs whose place in the queue moves most")
    largest_risk_changes: list[JobChange] = Field(default_factory=list, description="The jobs whose risk changes "
                                                  "most")
    text_rejudging_needed: bool = Field(description="The policy judges text differently (examples, thresholds): "
                                        "findings of the text module change only when past jobs are re-judged")
    readings_matching_new_terms: int = Field(default=0, description="Past OCR lines and speech segments that the "
                                             "terms the policy adds match (counted in the risk above)")
    rules: list[RuleDryRun] = Field(default_factory=list, description="Each of the policy's rules (draft ones "
                                    "too) on the same jobs, with the risk above")
    seconds: float


class RejudgingStatus(BaseModel):
    """The team's newest re-judging of its past jobs by a policy version: their text judged again, their risk and
    rules by that version."""

    run_id: UUID
    version: int
    state: BackgroundState
    jobs_total: int | None = Field(description="The past jobs to judge; known once it runs")
    jobs_done: int
    risk_changed: int = Field(description="Jobs whose risk the version changed")
    error: str | None
    requested_by: str
    requested_at: datetime
    updated_at: datetime = Field(description="Its last step: a run that stopped moving can be replaced")
    finished_at: datetime | None
