"""A policy's rules (vidsafe/rules.py): conditions over a job's segments rated by the policy, what fires and why,
what the live firings decide together, and every wrong rule refused when the policy is read."""

from __future__ import annotations

import uuid

import pydantic
import pytest

from vidsafe.catalogue import Module
from vidsafe.domain.findings import Segment
from vidsafe.domain.policies import PolicyCategory, PolicyDocument, Signal, TextThresholds
from vidsafe.domain.rules import RULES_PER_POLICY, QueueSpec, Rule, RuleState
from vidsafe.domain.summaries import SuggestedAction
from vidsafe.rules import JobSignals, action_floor, evaluate, outcome

CATEGORIES = [
    PolicyCategory(name="scams", severity=0.6, signals=[Signal(module=Module.text, labels=["scams"])]),
    PolicyCategory(name="nudity", severity=0.9, signals=[Signal(module=Module.nudity, labels=["BUTTOCKS_EXPOSED"])]),
    PolicyCategory(name="known", severity=1.0, signals=[Signal(module=Module.known_content)]),
]


def policy(*rules: dict, queues: tuple[str, ...] = ("scam-desk",)) -> PolicyDocument:
    return PolicyDocument(categories=CATEGORIES, text=TextThresholds(offensive_language=None),
                          queues=[QueueSpec(name=q) for q in queues], rules=[Rule.model_validate(r) for r in rules])


def segment(module: Module, label: str, score: float, start: float, end: float) -> Segment:
    return Segment(module=module, label=label, start_s=start, end_s=end, max_score=score, mean_score=score, count=1)


def job(*segments: Segment, risk: float = 0.5, languages: tuple[str, ...] = (), batch: uuid.UUID | None = None,
        job_id: uuid.UUID | None = None) -> JobSignals:
    return JobSignals(job_id or uuid.uuid4(), list(segments), batch, frozenset(languages), risk)


SCAM_SPEECH = segment(Module.text, "scams", 0.8, 10, 70)
SCAM_CAPTION = segment(Module.text, "scams", 0.95, 3, 5)
ROUTE_SCAMS = {"name": "scams-to-desk", "state": "live",
               "conditions": [{"category": "scams", "min_score": 0.7, "min_duration_s": 60}],
               "actions": [{"type": "route", "queue": "scam-desk", "priority": 5}]}


def test_a_condition_counts_the_categorys_segments_their_duration_and_scores() -> None:
    document = policy(ROUTE_SCAMS)
    (fired,) = evaluate(document, job(SCAM_SPEECH, SCAM_CAPTION))
    assert fired.rule.name == "scams-to-desk" and fired.would == "routed to queue scam-desk (priority 5)"
    assert fired.why == "2 segment(s) of scams (62.0 s, top score 0.95)"
    assert evaluate(document, job(SCAM_CAPTION)) == [], "2 s of scams: not the minute the rule asks for"
    weak = segment(Module.text, "scams", 0.5, 0, 100)
    assert evaluate(document, job(weak)) == [], "below the rule's score"
    result = outcome(evaluate(document, job(SCAM_SPEECH)), job(SCAM_SPEECH))
    assert (result.queue, result.priority, result.decision) == ("scam-desk", 5, None)
    assert result.applied == {"scams-to-desk": "routed to queue scam-desk (priority 5)"}
    # A category counts only the segments its signals rate: a nudity label the policy names no severity for is none
    unrated = segment(Module.nudity, "FEET_EXPOSED", 0.9, 0, 100)
    assert evaluate(policy({**ROUTE_SCAMS, "conditions": [{"category": "nudity"}]}), job(unrated)) == []
    # ... and every category that rates it, not only the most severe one
    adult = PolicyCategory(name="adult", severity=0.5, signals=[Signal(module=Module.nudity,
                                                                        labels=["BUTTOCKS_EXPOSED"])])
    both = PolicyDocument(categories=[*CATEGORIES, adult], text=TextThresholds(offensive_language=None),
                          rules=[Rule.model_validate({**ROUTE_SCAMS, "conditions": [{"category": "adult"}],
                                                      "actions": [{"type": "escalate"}]})])
    assert evaluate(both, job(segment(Module.nudity, "BUTTOCKS_EXPOSED", 0.9, 0, 1)))


def test_any_and_all_language_batch_and_count() -> None:
    batch = uuid.uuid4()
    rule = {"name": "french-scams", "state": "live", "match": "all",
            "conditions": [{"category": "scams"}, {"language": "fr"}, {"batch_id": str(batch), "min_count": 0}],
            "actions": [{"type": "require_two_reviewers"}]}
    document = policy(rule)
    assert evaluate(document, job(SCAM_CAPTION, languages=("fr",), batch=batch))
    assert not evaluate(document, job(SCAM_CAPTION, languages=("en",), batch=batch))
    assert not evaluate(document, job(SCAM_CAPTION, languages=("fr",)))
    either = policy({**rule, "match": "any"})
    assert evaluate(either, job(languages=("fr",)))
    stored = PolicyDocument.model_validate_json(either.model_dump_json())
    assert evaluate(stored, job(languages=("fr",))), "a language condition counts no segments, saved and read back"
    counted = policy({**rule, "conditions": [{"module": "nudity", "min_count": 2}]})
    nude = segment(Module.nudity, "BUTTOCKS_EXPOSED", 0.9, 0, 1)
    assert not evaluate(counted, job(nude)) and evaluate(counted, job(nude, nude))
    assert outcome(evaluate(counted, job(nude, nude)), job()).reviews_required == 2


def test_background_rules_are_recorded_but_decide_nothing_and_drafts_only_dry_run() -> None:
    background = policy({**ROUTE_SCAMS, "state": "background"})
    (fired,) = evaluate(background, job(SCAM_SPEECH))
    result = outcome([fired], job(SCAM_SPEECH))
    assert (result.queue, result.priority, result.applied) == ("review", 0, {})
    assert result.taken(fired) == "would have: routed to queue scam-desk (priority 5)"
    draft = policy({**ROUTE_SCAMS, "state": "draft"})
    assert evaluate(draft, job(SCAM_SPEECH)) == []
    assert evaluate(draft, job(SCAM_SPEECH), states=(RuleState.draft,))


def test_the_most_severe_action_wins_and_each_firing_says_what_it_came_to() -> None:
    escalate = {"name": "nudity-up", "state": "live", "conditions": [{"category": "nudity"}],
                "actions": [{"type": "escalate"}]}
    reject = {"name": "known-out", "state": "live", "conditions": [{"module": "known_content"}],
              "actions": [{"type": "auto_reject"}]}
    low = {**ROUTE_SCAMS, "name": "low", "actions": [{"type": "route", "queue": "scam-desk", "priority": 1}]}
    document = policy(low, ROUTE_SCAMS, escalate, reject)
    nude = segment(Module.nudity, "BUTTOCKS_EXPOSED", 0.9, 0, 1)
    listed = segment(Module.known_content, "csam-list", 1.0, 0, 1)
    signals = job(SCAM_SPEECH, nude)
    result = outcome(evaluate(document, signals), signals)
    assert (result.queue, result.priority, result.decision) == ("escalation", 5, None)
    assert result.applied == {"low": "route to scam-desk: escalated instead",
                              "scams-to-desk": "route to scam-desk: escalated instead", "nudity-up": "escalated"}
    signals = job(SCAM_SPEECH, nude, listed)
    result = outcome(evaluate(document, signals), signals)
    assert (result.decision, result.decided_by, result.applied["known-out"]) == ("reject", "known-out", "rejected")
    assert result.applied["nudity-up"] == "escalated: rejected by rule known-out instead"
    signals = job(SCAM_SPEECH)
    result = outcome(evaluate(document, signals), signals)
    assert (result.queue, result.priority) == ("scam-desk", 5), "the higher priority route wins"
    assert result.applied["low"] == "route to scam-desk: overridden by rule scams-to-desk (priority 5)"


def test_a_rejection_needs_a_known_content_match() -> None:
    for sneaky in ({"match": "any", "conditions": [{"module": "known_content"}, {"category": "nudity"}]},
                   {"conditions": [{"module": "known_content", "min_count": 0}]}):
        with pytest.raises(pydantic.ValidationError, match="auto_reject needs match 'all'"):
            policy({"name": "out", "state": "live", "actions": [{"type": "auto_reject"}], **sneaky})
    document = policy({"name": "out", "state": "live", "actions": [{"type": "auto_reject"}],
                       "conditions": [{"module": "known_content"}]})
    assert outcome(evaluate(document, job()), job()).decision is None


def test_the_floor_a_summary_may_not_go_below() -> None:
    assert action_floor(set()) == SuggestedAction.approve
    assert action_floor({"auto_approve"}) == SuggestedAction.approve
    assert action_floor({"route", "auto_approve"}) == SuggestedAction.review
    assert action_floor({"require_two_reviewers"}) == SuggestedAction.review
    assert action_floor({"escalate", "route"}) == SuggestedAction.escalate
    assert action_floor({"auto_reject", "escalate"}) == SuggestedAction.remove


@pytest.mark.parametrize(("rule", "queues", "message"), [
    ({**ROUTE_SCAMS, "conditions": [{"category": "frauds"}]}, ("scam-desk",), "names no category of the policy"),
    (ROUTE_SCAMS, (), "routes to no queue the policy has: ['scam-desk']"),
    (ROUTE_SCAMS, ("review",), "are taken"),
    (ROUTE_SCAMS, ("scam-desk", "claimed"), "are taken"),
    ({**ROUTE_SCAMS, "conditions": [{"module": "telepathy"}]}, ("scam-desk",), "module"),
    ({**ROUTE_SCAMS, "actions": [{"type": "auto_reject"}]}, ("scam-desk",), "auto_reject needs match 'all'"),
    ({**ROUTE_SCAMS, "actions": [{"type": "auto_approve", "max_risk": 0.2}, {"type": "escalate"}]}, ("scam-desk",),
     "auto_approve is the rule's only action"),
    ({**ROUTE_SCAMS, "actions": [{"type": "escalate"}, {"type": "escalate"}]}, ("scam-desk",), "an action repeats"),
    ({**ROUTE_SCAMS, "actions": [{"type": "delete_account"}]}, ("scam-desk",), "delete_account"),
    ({**ROUTE_SCAMS, "name": "Bad Name"}, ("scam-desk",), "pattern"),
])
def test_a_wrong_rule_is_refused_saying_what(rule: dict, queues: tuple[str, ...], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        PolicyDocument.model_validate({"categories": [c.model_dump() for c in CATEGORIES],
                                       "text": {"offensive_language": None},
                                       "queues": [{"name": q} for q in queues], "rules": [rule]})


def test_rule_names_are_unique_and_the_rules_limits_are_told() -> None:
    with pytest.raises(pydantic.ValidationError, match="rule names repeat"):
        policy(ROUTE_SCAMS, ROUTE_SCAMS)
    many = policy(*({**ROUTE_SCAMS, "name": f"r{n}"} for n in range(RULES_PER_POLICY + 1)))
    assert many.rules_limit_passed() == f"{RULES_PER_POLICY + 1} rules: at most {RULES_PER_POLICY}"
    wide = policy({**ROUTE_SCAMS, "conditions": [{"category": "scams"}] * 21})
    assert wide.rules_limit_passed() == "rule 'scams-to-desk' has 21 conditions: at most 20"
    assert policy(ROUTE_SCAMS).rules_limit_passed() is None
