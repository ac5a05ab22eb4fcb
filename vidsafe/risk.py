"""A job's risk: how urgently a human should look at it, from its segments.

Each segment contributes ``severity x max_score``, the severity being the one the team's policy gives it
(``vidsafe.policy.segment_severity``: of the signals naming its label, else its module; a segment no signal names
contributes nothing), and the category giving it is the reason's. The
job's risk is the noisy-OR of the contributions, ``1 - prod(1 - c)``: one severe segment makes a video risky,
and several lesser ones add up without passing 1. The "why" is the segments that contribute most.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from vidsafe.domain.findings import RiskReason, Segment
from vidsafe.domain.policies import PolicyDocument
from vidsafe.policy import segment_severity

REASONS_KEPT = 5
RISK_EPSILON = 1e-4  # risks are stored to 4 places: closer ones are the same


def job_risk(segments: Iterable[Segment], policy: PolicyDocument) -> tuple[float, list[RiskReason]]:
    reasons = []
    for segment in segments:
        weight, category = segment_severity(policy, segment.module, segment.label, segment.max_score)
        contribution = weight * segment.max_score
        if contribution > 0:
            reasons.append(RiskReason(module=segment.module, label=segment.label, category=category,
                                      start_s=segment.start_s,
                                      end_s=segment.end_s, score=segment.max_score, severity=weight,
                                      contribution=round(contribution, 4)))
    risk = 1 - math.prod(1 - min(1.0, r.contribution) for r in reasons)
    reasons.sort(key=lambda r: (-r.contribution, r.start_s))
    return round(risk, 4), reasons[:REASONS_KEPT]
