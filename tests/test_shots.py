"""Shots and adaptive sampling: cuts found while decoding (against the true cuts and PySceneDetect's
ContentDetector), every shot sampled, results carried over only where the picture did not change, and, through
the stack, every shot and every caption held for a second found."""

from __future__ import annotations

from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from tests.support import submit, wait_for_job
from vidsafe.domain.findings import Finding
from vidsafe.export.sample_video import Caption, Scene, make_sample_video
from vidsafe.media.cuts import CutDetector, Signature, picture_change
from vidsafe.media.decoding import SampledFrame, sample_frames
from vidsafe.settings import Settings
from vidsafe.workers.segments import build_segments
from vidsafe.workers.shots import shot_findings
from vidsafe.workers.stages import CarryOver

SIZE = (640, 360)
# Shots of 1 to 1.6 s (cuts off the 0.5 s sampling grid), among them a cut between two grey pictures, which
# ContentDetector's hue and saturation do not see.
SHORT_SHOTS = (
    Scene("coffee", 0.0, 1.3, pan_px_s=0.0),
    Scene("astronaut", 1.3, 2.3, pan_px_s=0.0),
    Scene("rocket", 2.3, 3.9, pan_px_s=10.0),
    Scene("camera", 3.9, 5.1, pan_px_s=0.0),
    Scene("clock", 5.1, 6.2, pan_px_s=0.0),
    Scene("chelsea", 6.2, 7.2, pan_px_s=0.0),
    Scene("immunohistochemistry", 7.2, 8.7, pan_px_s=0.0),
    Scene("hubble_deep_field", 8.7, 9.8, zoom_per_s=0.05, pan_px_s=0.0),
    Scene("retina", 9.8, 10.9, pan_px_s=0.0),
    Scene("colorwheel", 10.9, 12.0, pan_px_s=0.0),
)
# Captions held one second, coming and going inside shots and across cuts, off the sampling grid.
SHORT_CAPTIONS = (
    Caption("ORDER NOW", 0.2, 1.2),
    Caption("CLICK HERE", 2.6, 3.6),
    Caption("WIN CASH TODAY", 4.4, 5.4),
    Caption("FREE TICKETS", 6.7, 7.7),
    Caption("MEET ME AT NOON", 9.1, 10.1),
    Caption("CALL 555 0199", 10.95, 11.95),
)
CUT_TOLERANCE_S = 0.15


@pytest.fixture(scope="module")
def short_shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sample_video(tmp_path_factory.mktemp("shots") / "short_shots.mp4", SHORT_SHOTS, speech=None,
                             captions=SHORT_CAPTIONS, size=SIZE)


def true_cuts() -> list[float]:
    return [scene.start_s for scene in SHORT_SHOTS[1:]]


def matched(found: list[float], expected: list[float]) -> list[float]:
    """The expected times that one of ``found`` is within the tolerance of."""
    return [t for t in expected if any(abs(t - f) <= CUT_TOLERANCE_S for f in found)]


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


@pytest.mark.stack
def test_every_shot_and_every_caption_held_a_second_is_found(api: httpx.Client, short_shots: Path) -> None:
    """Through the stack (its chunks of 4 s cut shots apart), adaptive sampling on: every shot and caption."""
    job_id = submit(api, short_shots, '{"modules": ["shots", "ocr"], "sample_fps": 2}')
    assert wait_for_job(api, job_id)["status"] == "succeeded"
    segments = api.get(f"/v1/jobs/{job_id}/segments").raise_for_status().json()["segments"]
    shots = [s for s in segments if s["module"] == "shots"]
    assert len(shots) == len(SHORT_SHOTS)
    assert matched([s["start_s"] for s in shots], true_cuts()) == true_cuts()
    texts = [s for s in segments if s["module"] == "ocr"]
    for caption in SHORT_CAPTIONS:
        assert any(s["label"] == f"text: {caption.text}" and s["start_s"] < caption.end_s
                   and s["end_s"] >= caption.start_s for s in texts), (caption, [s["label"] for s in texts])
    findings = [Finding.model_validate(f) for f in
                api.get(f"/v1/jobs/{job_id}/findings", params={"module": "ocr", "limit": 1000}).json()["findings"]]
    carried = [f for f in findings if "carried_from" in f.attributes]
    assert carried, "no OCR result was carried over on this mostly still video"
    ran = {(f.frame_index, f.text) for f in findings if "carried_from" not in f.attributes}
    assert all((f.attributes["carried_from"], f.text) in ran for f in carried), "carried from a frame that lacks it"
