"""A job's risk (vidsafe/risk.py): the noisy-OR of severity x score over its segments, the severity and category
being the policy's; the deployment's default policy gives exactly the risk its severities setting gave."""

from __future__ import annotations

import math
import random

import pytest

from vidsafe.catalogue import Module
from vidsafe.domain.findings import Segment
from vidsafe.domain.policies import PolicyCategory, PolicyDocument, Signal, TextThresholds
from vidsafe.policy import category_severity, default_document
from vidsafe.risk import job_risk
from vidsafe.settings import Settings


def segment(module: Module, label: str, score: float, start: float = 0.0) -> Segment:
    return Segment(module=module, label=label, start_s=start, end_s=start + 1, max_score=score, mean_score=score,
                   count=1)


def document(*categories: PolicyCategory) -> PolicyDocument:
    return PolicyDocument(categories=list(categories), text=TextThresholds(offensive_language=None))


def test_the_risk_is_a_noisy_or_of_severity_times_score() -> None:
    policy = document(
        PolicyCategory(name="nudity", severity=0.9, signals=[Signal(module=Module.nudity,
                                                                    labels=["FEMALE_BREAST_EXPOSED"])]),
        PolicyCategory(name="restraint", severity=0.9, signals=[Signal(module=Module.restraint)]))
    segments = [segment(Module.nudity, "FEMALE_BREAST_EXPOSED", 0.5, 1), segment(Module.restraint, "restraint", 0.8, 4),
                segment(Module.faces, "face 1", 0.9)]
    risk, reasons = job_risk(segments, policy)
    assert risk == pytest.approx(1 - (1 - 0.45) * (1 - 0.72), abs=1e-4)
    assert [(r.module, r.category) for r in reasons] == [(Module.restraint, "restraint"), (Module.nudity, "nudity")]
    assert job_risk([], policy)[0] == 0


def test_a_label_named_wins_over_the_whole_module_and_min_scores_count() -> None:
    policy = document(
        PolicyCategory(name="any_nudity", severity=0.2, signals=[Signal(module=Module.nudity)]),
        PolicyCategory(name="exposed", severity=1.0, signals=[
            Signal(module=Module.nudity, labels=["BUTTOCKS_EXPOSED"], min_score=0.6, severity=0.8)]))
    [strong] = job_risk([segment(Module.nudity, "BUTTOCKS_EXPOSED", 0.7)], policy)[1]
    assert (strong.category, strong.severity) == ("exposed", 0.8), "the signal's own severity"
    assert job_risk([segment(Module.nudity, "BUTTOCKS_EXPOSED", 0.5)], policy) == (0.0, []), "below its min_score"
    [other] = job_risk([segment(Module.nudity, "BELLY_EXPOSED", 0.5)], policy)[1]
    assert (other.category, other.severity) == ("any_nudity", 0.2)


def test_the_default_policy_gives_the_risk_of_the_severities_setting_exactly() -> None:
    severities = Settings().risk_severities
    policy = default_document(severities)
    rng = random.Random(7)
    keys = [*severities, "faces", "ocr:text: FREE GIFT CARDS", "speech", "nudity:FACE_FEMALE", "clip:neutral"]
    for _ in range(200):
        segments = []
        for n in range(rng.randint(0, 6)):
            module, _, label = rng.choice(keys).partition(":")
            segments.append(segment(Module(module), label or module, round(rng.random(), 3), n))
        expected = 1 - math.prod(1 - min(1.0, category_severity(s.module, s.label, severities) * s.max_score)
                                 for s in segments)
        assert job_risk(segments, policy)[0] == round(expected, 4), segments
