"""Grouping findings into segments (no stack needed)."""

from __future__ import annotations

from vidsafe.catalogue import Module
from vidsafe.domain.findings import Finding
from vidsafe.workers.segments import build_segments


def _frame(label: str, t: float, score: float, module: Module = Module.nudity, text: str | None = None) -> Finding:
    return Finding(module=module, label=label, score=score, timestamp_s=t, frame_index=round(t * 2), text=text)


def test_consecutive_samples_form_one_segment_and_gaps_split() -> None:
    findings = [_frame("FACE_FEMALE", t, s) for t, s in [(3.0, 0.5), (3.5, 0.7), (4.0, 0.6), (9.0, 0.8)]]
    first, second = build_segments(findings, sample_fps=2.0)
    assert (first.start_s, first.end_s, first.count) == (3.0, 4.0, 3)
    assert first.max_score == 0.7 and abs(first.mean_score - 0.6) < 1e-9
    assert (second.start_s, second.end_s, second.count) == (9.0, 9.0, 1)


def test_one_missed_sample_is_bridged_two_are_not() -> None:
    assert len(build_segments([_frame("x", 0.0, 1), _frame("x", 0.6, 1)], sample_fps=2.0)) == 1
    assert len(build_segments([_frame("x", 0.0, 1), _frame("x", 1.0, 1)], sample_fps=2.0)) == 2


def test_labels_modules_and_texts_are_kept_apart() -> None:
    findings = [
        _frame("FACE_FEMALE", 1.0, 0.5),
        _frame("face", 1.0, 0.9, Module.faces),
        _frame("text", 1.0, 0.9, Module.ocr, text="SALE"),
        _frame("text", 1.5, 0.9, Module.ocr, text="OPEN"),
    ]
    labels = sorted((s.module, s.label) for s in build_segments(findings, sample_fps=2.0))
    assert labels == [("faces", "face"), ("nudity", "FACE_FEMALE"), ("ocr", "text: OPEN"), ("ocr", "text: SALE")]


def test_time_range_findings_keep_their_end() -> None:
    speech = [Finding(module=Module.speech, label="speech", score=0.9, timestamp_s=6.3, end_s=8.9, text="hello"),
              Finding(module=Module.speech, label="speech", score=0.7, timestamp_s=9.5, end_s=10.0, text="again")]
    first, second = build_segments(speech, sample_fps=2.0)
    assert (first.label, first.start_s, first.end_s) == ("speech: hello", 6.3, 8.9)
    assert (second.label, second.start_s, second.end_s) == ("speech: again", 9.5, 10.0)
