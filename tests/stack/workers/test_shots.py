"""Shots and adaptive sampling: cuts found while decoding (against the true cuts and PySceneDetect's
ContentDetector), every shot sampled, results carried over only where the picture did not change, and, through
the stack, every shot and every caption held for a second found."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.helpers.shots import SHORT_CAPTIONS, SHORT_SHOTS, matched, true_cuts
from tests.helpers.support import submit, wait_for_job
from vidsafe.domain.findings import Finding


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
