"""A job's risk (workers/risk.py): the noisy-OR of severity x score over its segments."""

from __future__ import annotations

import pytest

from vidsafe.catalogue import Module
from vidsafe.domain.findings import Segment
from vidsafe.workers.risk import job_risk


def test_the_risk_is_a_noisy_or_of_severity_times_score() -> None:
    segments = [Segment(module=Module.nudity, label="FEMALE_BREAST_EXPOSED", start_s=1, end_s=2, max_score=0.5,
                        mean_score=0.5, count=2),
                Segment(module=Module.restraint, label="restraint", start_s=4, end_s=6, max_score=0.8, mean_score=0.7,
                        count=3),
                Segment(module=Module.faces, label="face 1", start_s=0, end_s=9, max_score=0.9, mean_score=0.9,
                        count=9)]
    risk, reasons = job_risk(segments, {"nudity:FEMALE_BREAST_EXPOSED": 0.9, "restraint": 0.9})
    assert risk == pytest.approx(1 - (1 - 0.45) * (1 - 0.72), abs=1e-4)
    assert [r.module for r in reasons] == [Module.restraint, Module.nudity], "faces carry no risk"
    assert job_risk([], {})[0] == 0
