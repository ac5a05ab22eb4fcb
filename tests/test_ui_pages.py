"""The review UI's page logic without a browser: the timeline's series and click, the thumbnails' boxes and
blurring, and the app's sign-in run by Streamlit's AppTest against the real gateway."""

from __future__ import annotations

from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.support import make_team, upload, wait_for_job
from vidsafe.catalogue import Module
from vidsafe.domain.findings import Finding, Segment
from vidsafe.settings import Settings
from vidsafe.ui import APP_PATH, session, thumbnails, timeline
from vidsafe.workers.risk import job_risk


def _finding(module: Module, label: str, t: float, score: float, **fields: object) -> Finding:
    return Finding(module=module, label=label, timestamp_s=t, score=score, frame_index=int(t * 2), **fields)


def test_the_timeline_plots_each_categorys_highest_score_per_time_and_each_modules_threshold() -> None:
    label = "BUTTOCKS_EXPOSED"
    findings = [_finding(Module.nudity, label, 1.0, 0.4), _finding(Module.nudity, label, 1.0, 0.7),
                _finding(Module.faces, "face", 1.0, 0.9), _finding(Module.faces, "face", 1.5, 0.8),
                _finding(Module.clip, "frame", 1.0, 1.0), Finding(module=Module.speech, label="speech", timestamp_s=0,
                                                                   score=0.0, text="hello")]
    series = timeline.score_series(findings)
    assert set(series["category"]) == {"nudity:BUTTOCKS_EXPOSED", "faces"}, "speech and CLIP's index are not plotted"
    assert series[series["category"] == "nudity:BUTTOCKS_EXPOSED"]["score"].tolist() == [0.7]
    limits = timeline.thresholds(series, {"nudity": 0.25, "faces": 0.6})
    assert dict(zip(limits["module"], limits["threshold"], strict=True)) == {"faces": 0.6, "nudity": 0.25}
    chart = timeline.timeline_chart(series, limits, 12.0).to_dict()
    assert [param["name"] for param in chart["params"]] == [timeline.SELECTION]
    assert timeline.picked_time({"selection": {timeline.SELECTION: [{"t": 1.5}]}}) == 1.5
    assert timeline.picked_time({"selection": {}}) is None


def test_thumbnails_get_their_boxes_at_scale_and_sensitive_ones_are_blurred() -> None:
    frame = np.zeros((90, 160, 3), np.uint8)
    frame[30:60, 60:100] = 255  # a white square, sharp-edged
    jpeg = cv2.imencode(".jpg", frame)[1].tobytes()
    box = _finding(Module.nudity, "BUTTOCKS_EXPOSED", 1.0, 0.9, box=(120.0, 60.0, 200.0, 120.0))  # in 320x180 pixels

    def decoded(png: bytes) -> np.ndarray:
        return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)

    sharp = decoded(thumbnails.annotate(jpeg, [box], (320, 180), blur=False))
    assert tuple(sharp[45, 60]) != tuple(frame[45, 60]), "the box is drawn at half scale, on the square's edge"
    blurred = decoded(thumbnails.annotate(jpeg, [], (320, 180), blur=True))
    assert np.abs(np.diff(blurred[45].astype(int), axis=0)).max() < 60, "no sharp edge survives the blur"
    severities = {"nudity:BUTTOCKS_EXPOSED": 0.8, "nudity:BUTTOCKS_COVERED": 0.2}
    assert thumbnails.is_sensitive(box, severities, 0.5)
    assert not thumbnails.is_sensitive(box.model_copy(update={"label": "BUTTOCKS_COVERED"}), severities, 0.5)


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


@pytest.fixture
def app_for(running_stack: Settings, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The app, run by AppTest in this process, talking to the test stack's gateway."""
    monkeypatch.setattr(session, "settings", lambda: running_stack)
    return AppTest.from_file(str(APP_PATH), default_timeout=60)


@pytest.mark.stack
def test_signing_in_checks_the_key_with_the_gateway(app_for: AppTest, api_key: str) -> None:
    app = app_for.run()
    assert not app.exception
    app.text_input(key="sign_in_key").input("vs_not-a-key")
    app.button[0].click().run()
    assert any("refused this key" in e.value for e in app.error), [e.value for e in app.error]
    app.text_input(key="sign_in_key").input(api_key)
    app.button[0].click().run()
    assert not app.exception, app.exception
    assert [t.value for t in app.title] == ["Review queue"]
    assert app.button(key="claim_next").label == "Claim next"
    assert "api_key" in app.session_state, "the key lives in the session"


@pytest.mark.stack
def test_the_review_page_seeks_to_a_transcript_line_and_records_a_decision(
        app_for: AppTest, api: httpx.Client, sample_video: Path) -> None:
    """Claim next opens the review page of the riskiest video; a transcript line seeks the player; a decision is
    recorded and shows in the audit trail."""
    team = make_team(session.settings(), api, "apptest", {"ria": ["submit", "review"]})
    with team.client("ria") as ria:
        job = wait_for_job(ria, upload(ria, sample_video, name="apptest.mp4").json()["id"])
    assert job["status"] == "succeeded"
    app = app_for.run()
    app.text_input(key="sign_in_key").input(team.secrets["ria"])
    app.button[0].click().run()
    app.button(key="claim_next").click().run()
    assert not app.exception, app.exception
    assert [t.value for t in app.title] == ["apptest.mp4"]
    assert [s.value for s in app.subheader] == ["Decision"]
    line = next(b for b in app.button if "check this video" in b.label)
    line.click().run()
    assert 6.0 <= app.session_state["seek_s"] < 7.0, "the player starts where the sentence is said"
    app.selectbox(key="decision_policy").select("spam").run()
    app.button(key="approve").click().run()
    assert any("Recorded: approve (spam) by ria" in s.value for s in app.success)
    assert "approve (spam)" in app.table[0].value.to_string()
