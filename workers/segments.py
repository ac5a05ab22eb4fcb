"""Group a job's findings into segments: time ranges per module and label with max and mean scores,
the unit the anchors (Rekognition's segments, Video Indexer's insights) report.

Frame findings of one label closer than 1.5 sampling intervals join one segment, so a label seen
in consecutive samples is one range and a gap of a missed sample or more starts a new one. Findings
with their own end (speech) keep it. Findings with text (OCR, speech) group by their text, so each
caption and each utterance is its own range; faces group by their identity within the job. CLIP's
per-frame embedding findings index frames for visual similarity; they are not something to review
and make no segments. Each shot is a segment of its own, the pieces of one shot that chunks cut apart joined
again (a piece that ``continues`` the one before).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from vidsafe.catalogue import Module
from vidsafe.domain.findings import Finding, Segment


def segment_label(finding: Finding) -> str:
    if finding.text:
        return f"{finding.label}: {finding.text}"
    if "identity" in finding.attributes:
        return f"{finding.label} {finding.attributes['identity']}"
    return finding.label


def build_segments(findings: Iterable[Finding], sample_fps: float) -> list[Segment]:
    gap = 1.5 / sample_fps
    groups: dict[tuple[Module, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.is_index_entry:
            continue
        groups[(finding.module, segment_label(finding))].append(finding)
    segments = []
    for (module, label), members in groups.items():
        members.sort(key=lambda f: f.timestamp_s)
        run: list[Finding] = []
        for finding in members:
            if run and _starts_segment(finding, run, gap):
                segments.append(_segment(module, label, run))
                run = []
            run.append(finding)
        segments.append(_segment(module, label, run))
    return sorted(segments, key=lambda s: (s.start_s, s.module, s.label))


def _starts_segment(finding: Finding, run: list[Finding], gap: float) -> bool:
    if finding.module == Module.shots:
        return not finding.attributes.get("continues", False)
    return finding.timestamp_s - max(f.end_s or f.timestamp_s for f in run) > gap


def _segment(module: Module, label: str, run: list[Finding]) -> Segment:
    scores = [f.score for f in run]
    return Segment(module=module, label=label, start_s=run[0].timestamp_s,
                   end_s=max(f.end_s or f.timestamp_s for f in run), max_score=max(scores),
                   mean_score=sum(scores) / len(scores), count=len(run))
