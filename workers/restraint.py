"""Restraint risk: a rule over pose findings (no CLIP needed) and, when CLIP is served, its zero-shot
"restraint" category.

For each sampled frame with a person:
- the pose cue is the heaviest of the postures present (``restraint_cue_weights``): wrists held
  together, arms pinned behind the back, arms held above the head (see ``workers.pose``), scaled by
  the pose model's confidence that a person is there;
- the CLIP cue is the probability CLIP gives the ``restraint`` category in that frame, read from the
  frame's CLIP embedding finding, which carries every category's probability (0 without CLIP);
- the frame's risk is ``1 - (1 - pose) * (1 - clip)``: either cue alone can raise it, both together
  raise it further.
A frame counts when its risk reaches the restraint threshold (``min_scores["restraint"]``). Counted
frames within 1.5 sampling intervals of each other form a run, and only runs lasting at least
``restraint_min_duration_s`` become findings: holding a pose for an instant is ordinary, holding it
over time is what a reviewer must see. Each frame of such a run is one finding, so the run becomes a
segment with its max and mean risk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from vidsafe.catalogue import Module
from vidsafe.db import parts
from vidsafe.domain.findings import Finding
from vidsafe.settings import Settings
from vidsafe.workers.pose import Landmarks, arms_above_head, arms_behind_back, wrists_together
from vidsafe.workers.stages import RulesInput, RuleStage

CUES: dict[str, Callable[[Landmarks], bool]] = {
    "wrists_together": wrists_together,
    "arms_behind_back": arms_behind_back,
    "arms_above_head": arms_above_head,
}
CLIP_CATEGORY = "restraint"


def frame_risk(pose: Finding | None, clip_probability: float, weights: dict[str, float]) -> tuple[float, dict]:
    """One frame's risk and what it is made of."""
    cues = [name for name, cue in CUES.items() if pose is not None and cue(pose.attributes["landmarks"])]
    pose_cue = max((weights.get(name, 0.0) for name in cues), default=0.0) * (pose.score if pose else 0.0)
    risk = 1 - (1 - pose_cue) * (1 - clip_probability)
    return risk, {"cues": cues, "pose_cue": round(pose_cue, 4), "clip_cue": round(clip_probability, 4)}


def restraint_findings(findings: Iterable[Finding], sample_fps: float, threshold: float,
                       settings: Settings) -> list[Finding]:
    """Restraint findings from a job's pose and CLIP findings (others are ignored)."""
    frames: dict[int, dict[str, Finding]] = {}
    for finding in findings:
        if finding.frame_index is None:
            continue
        if finding.module == Module.pose or (finding.module == Module.clip and finding.is_index_entry):
            frames.setdefault(finding.frame_index, {})[finding.module] = finding
    counted = []
    for frame_index in sorted(frames):
        pose, clip = frames[frame_index].get(Module.pose), frames[frame_index].get(Module.clip)
        clip_probability = clip.attributes["probabilities"].get(CLIP_CATEGORY, 0.0) if clip else 0.0
        risk, why = frame_risk(pose, clip_probability, settings.restraint_cue_weights)
        if risk >= threshold:
            anchor = pose or clip
            assert anchor is not None
            counted.append(Finding(module=Module.restraint, label="restraint", score=round(risk, 4),
                                   timestamp_s=anchor.timestamp_s, frame_index=frame_index,
                                   box=pose.box if pose else None, attributes=why))
    return [finding for run in _runs(counted, 1.5 / sample_fps)
            if run[-1].timestamp_s - run[0].timestamp_s + 1 / sample_fps >= settings.restraint_min_duration_s
            for finding in run]


def _runs(findings: list[Finding], gap: float) -> list[list[Finding]]:
    runs: list[list[Finding]] = []
    for finding in findings:
        if runs and finding.timestamp_s - runs[-1][-1].timestamp_s <= gap:
            runs[-1].append(finding)
        else:
            runs.append([finding])
    return runs


class RestraintStage(RuleStage):
    module = Module.restraint

    def run(self, job: RulesInput) -> None:
        found = restraint_findings(job.findings, job.sample_fps, self.min_score, self.settings)
        parts.store(job.conn, job.lease, found, self.settings.part_lease_s)
