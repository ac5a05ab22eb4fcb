"""Shots and adaptive sampling: the cuts found while decoding (vidsafe/media/cuts.py) against PySceneDetect, a frame at
every shot's start, and where a stage runs again (workers/stages.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tests.helpers.shots import CUT_TOLERANCE_S, SHORT_SHOTS, SIZE, matched, true_cuts
from vidsafe.media.cuts import CutDetector, Signature, picture_change
from vidsafe.media.decoding import SampledFrame, sample_frames
from vidsafe.settings import Settings
from vidsafe.workers.segments import build_segments
from vidsafe.workers.shots import shot_findings
from vidsafe.workers.stages import CarryOver


def detect(video: Path, start_s: float = 0.0, end_s: float | None = None) -> tuple[CutDetector, list[SampledFrame]]:
    cuts = CutDetector(threshold=27.0, min_shot_s=0.5)
    frames = list(sample_frames(video, 2.0, *SIZE, start_s=start_s, end_s=end_s, cuts=cuts))
    return cuts, frames


def test_every_cut_is_found_and_no_caption_is_taken_for_one(short_shots: Path) -> None:
    cuts, _ = detect(short_shots)
    found = [cut.timestamp_s for cut in cuts.cuts]
    assert matched(found, true_cuts()) == true_cuts(), found
    assert len(found) == len(true_cuts()), f"a caption coming or going was taken for a cut: {found}"


def test_the_cuts_agree_with_pyscenedetect_and_add_the_grey_one(short_shots: Path) -> None:
    from scenedetect import ContentDetector
    from scenedetect import detect as scenedetect

    theirs = [start.seconds for start, _ in scenedetect(str(short_shots), ContentDetector())[1:]]
    ours = [cut.timestamp_s for cut in detect(short_shots)[0].cuts]
    true_theirs = matched(theirs, true_cuts())
    # Every true cut ContentDetector finds, vidsafe finds; the cut from one grey picture to another it misses.
    assert set(matched(ours, true_theirs)) == set(true_theirs)
    grey_cut = next(s.start_s for s in SHORT_SHOTS if s.photo == "clock")
    assert grey_cut not in true_theirs and grey_cut in matched(ours, true_cuts())


def test_every_shot_has_a_sampled_frame_at_its_start(short_shots: Path) -> None:
    _, frames = detect(short_shots)
    starts = [0.0, *true_cuts()]
    for start, end in zip(starts, [*starts[1:], SHORT_SHOTS[-1].end_s], strict=True):
        inside = [f for f in frames if start - 1e-6 <= f.timestamp_s < end]
        assert inside and inside[0].timestamp_s - start <= CUT_TOLERANCE_S, (start, [f.timestamp_s for f in inside])
    indexes = [f.index for f in frames]
    assert indexes == sorted(set(indexes)), "a frame sampled at a cut took a grid slot another frame has"


def test_chunks_cut_a_shot_apart_and_its_segment_joins_them(short_shots: Path) -> None:
    chunk = 4.0  # inside the camera shot (3.9-5.1)
    pieces = [finding for start, end in ((0.0, chunk), (chunk, 8.0), (8.0, 12.0))
              for finding in shot_findings(detect(short_shots, start, end)[0].cuts, start, end)]
    continued = [f for f in pieces if f.attributes["continues"]]
    assert [f.timestamp_s for f in continued] == [4.0, 8.0]
    segments = build_segments(pieces, 2.0)
    assert [round(s.start_s, 1) for s in segments] == [0.0, *(round(c, 1) for c in true_cuts())]
    assert segments[-1].end_s == 12.0


def _signature(grey: np.ndarray) -> Signature:
    return Signature(np.zeros((*grey.shape, 3), np.int16), grey.astype(np.int16))


def test_a_pan_is_no_change_but_a_caption_appearing_is() -> None:
    threshold = Settings().carry_over_change["ocr"]
    picture = cv2.GaussianBlur(np.random.default_rng(3).integers(0, 255, (36, 96)).astype(np.float32), (0, 0), 2)
    before, panned = picture[:, 10:74], picture[:, 13:77]
    assert picture_change(before, panned) < threshold / 2
    captioned = panned.copy()
    captioned[2:8, 4:40] = 255
    assert picture_change(before, captioned) > 2 * threshold


def test_a_stage_runs_on_a_new_shot_a_change_and_after_max_age_and_carries_otherwise() -> None:
    still = np.full((36, 64), 100, np.int16)
    changed = still.copy()
    changed[:12, :16] = 250

    def frame(index: int, grey: np.ndarray, shot: int = 0) -> SampledFrame:
        return SampledFrame(index, index / 2, np.zeros((1, 1, 3), np.uint8), _signature(grey), shot)

    carry = CarryOver(min_change=20.0, max_age_s=2.0)
    runs = [carry.runs_on(f) for f in (frame(0, still), frame(1, still), frame(2, changed), frame(3, changed),
                                       frame(4, changed, shot=1), frame(5, changed, 1), frame(6, changed, 1),
                                       frame(7, changed, 1), frame(8, changed, 1))]
    assert runs == [True, False, True, False, True, False, False, False, True]
    assert all(CarryOver(0.0, 2.0).runs_on(frame(i, still)) for i in range(3))
