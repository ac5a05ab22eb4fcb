"""One video in, findings out: the whole path through the real stack."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from tests.helpers.support import stored_uploads, upload, wait_for_job
from vidsafe.deploy import stack
from vidsafe.export.sample_video import SAMPLE_SCENES, SAMPLE_SPEECH
from vidsafe.settings import Settings

ASTRONAUT_SCENES = [(s.start_s, s.end_s) for s in SAMPLE_SCENES if s.photo == "astronaut"]


def _on_screen(timestamp: float) -> bool:
    return any(start <= timestamp < end for start, end in ASTRONAUT_SCENES)


def test_sample_video_is_analysed_end_to_end(api: httpx.Client, running_stack: Settings, sample_video: Path) -> None:
    created = upload(api, sample_video)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "queued"

    job = wait_for_job(api, created.json()["id"])
    assert job["status"] == "succeeded", job
    assert job["progress"] == 1.0
    assert job["frames_analyzed"] == 24  # 12 s at the default 2 fps
    assert job["media"]["width"] == 640 and job["media"]["codec"] == "h264"

    body = api.get(f"/v1/jobs/{job['id']}/findings").json()
    faces = [f for f in body["findings"] if f["label"] == "FACE_FEMALE"]
    # The astronaut's face is found in both of her scenes, and a face is never reported elsewhere.
    for start, end in ASTRONAUT_SCENES:
        assert sum(start <= f["timestamp_s"] < end for f in faces) >= 4, (start, end, faces)
    assert all(_on_screen(f["timestamp_s"]) for f in faces)
    for finding in faces:
        x1, y1, x2, y2 = finding["box"]
        assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 360
        assert finding["module"] == "nudity" and finding["score"] >= running_stack.min_scores["nudity"]
    # The upload is removed once the job has ended.
    assert not stored_uploads(running_stack)


def test_jobs_are_listed_and_unknown_ids_are_404(api: httpx.Client, sample_video: Path) -> None:
    job = upload(api, sample_video).json()
    assert job["id"] in [j["id"] for j in api.get("/v1/jobs", params={"limit": 500}).json()]
    missing = api.get("/v1/jobs/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.json()["detail"]["code"] == "job_not_found"
    malformed = api.get("/v1/jobs/not-a-uuid")
    assert malformed.status_code == 422 and malformed.json()["detail"]["code"] == "invalid_request"
    assert "job_id" in malformed.json()["detail"]["message"]
    wait_for_job(api, job["id"])


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), [
    ("POST", "/v1/jobs/from-path", b'{"path": ', 422, "invalid_request"),  # JSON that does not parse
    ("POST", "/v1/jobs/from-path", b'{"path": "x", "options": {"sample_fps": 99}}', 422, "invalid_options"),
    ("GET", "/v1/no-such-route", None, 404, "not_found"),
    ("DELETE", "/v1/jobs", None, 405, "method_not_allowed"),
])
def test_every_refusal_has_the_documented_shape(api: httpx.Client, method: str, path: str, body: bytes | None,
                                                status: int, code: str) -> None:
    response = api.request(method, path, content=body, headers={"Content-Type": "application/json"} if body else {})
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail["code"] == code and detail["message"], detail


def test_server_side_path_inside_ingest_roots(api: httpx.Client, running_stack: Settings, sample_video: Path) -> None:
    source = running_stack.ingest_roots[0] / "clip.mp4"
    shutil.copy(sample_video, source)
    created = api.post("/v1/jobs/from-path", json={"path": str(source)})
    assert created.status_code == 201, created.text
    assert wait_for_job(api, created.json()["id"])["status"] == "succeeded"
    assert source.exists(), "a server-side source belongs to its owner and is never removed"


@pytest.mark.parametrize("path", ["/etc/passwd", "{root}/../outside.mp4", "{root}/../../etc/hostname"])
def test_server_side_path_outside_ingest_roots_is_refused(api: httpx.Client, running_stack: Settings,
                                                          path: str) -> None:
    response = api.post("/v1/jobs/from-path", json={"path": path.format(root=running_stack.ingest_roots[0])})
    assert response.status_code == 404
    assert response.json()["detail"]["code"] == "path_not_allowed"


def test_readiness_reports_every_dependency(api: httpx.Client) -> None:
    response = api.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "checks": {"database": True, "redis": True, "triton": True}}
    assert api.get("/healthz").json() == {"status": "ok"}
    assert "/v1/jobs" in api.get("/openapi.json").json()["paths"]


def test_upload_while_redis_is_down_is_refused_and_recovers(api: httpx.Client, running_stack: Settings,
                                                            sample_video: Path) -> None:
    jobs_before = len(api.get("/v1/jobs", params={"limit": 500}).json())
    stack.down(running_stack, ["redis"])
    try:
        response = upload(api, sample_video)
        assert response.status_code == 503, response.text
        assert response.json()["detail"]["code"] == "queue_unavailable"
        assert api.get("/readyz").json()["checks"]["redis"] is False
    finally:
        stack.up(running_stack, ["redis"])
    assert len(api.get("/v1/jobs", params={"limit": 500}).json()) == jobs_before, "no orphan job is left"
    assert not stored_uploads(running_stack)
    # The worker reconnects by itself and serves the next job.
    assert wait_for_job(api, upload(api, sample_video).json()["id"])["status"] == "succeeded"


def _upload_with_options(api: httpx.Client, path: Path, options: str) -> httpx.Response:
    with path.open("rb") as stream:
        return api.post("/v1/jobs", files={"file": (path.name, stream, "video/mp4")}, data={"options": options})


def test_job_options_choose_modules_and_rate(api: httpx.Client, sample_video: Path) -> None:
    created = _upload_with_options(api, sample_video, '{"modules": ["nudity"], "sample_fps": 1}')
    assert created.status_code == 201, created.text
    assert created.json()["options"] == {"modules": ["nudity"], "min_scores": {}, "sample_fps": 1.0}
    job = wait_for_job(api, created.json()["id"])
    assert job["status"] == "succeeded" and job["frames_analyzed"] == 12
    findings = api.get(f"/v1/jobs/{job['id']}/findings").json()["findings"]
    assert {f["module"] for f in findings} == {"nudity"}


def test_segments_group_the_findings(api: httpx.Client, sample_video: Path) -> None:
    job = wait_for_job(api, _upload_with_options(api, sample_video, '{"modules": ["nudity"]}').json()["id"])
    segments = api.get(f"/v1/jobs/{job['id']}/segments").json()["segments"]
    faces = [s for s in segments if s["label"] == "FACE_FEMALE"]
    assert [(s["start_s"], round(s["end_s"])) for s in faces] == [(3.0, 6), (9.0, 12)]
    assert all(0 < s["mean_score"] <= s["max_score"] <= 1 and s["count"] >= 4 for s in faces)


@pytest.mark.parametrize(
    ("options", "code", "message"),
    [
        ('{"modules": ["clip"]}', "module_unavailable", "VIDSAFE_CLIP_CHECKPOINT"),
        ('{"modules": ["telepathy"]}', "invalid_options", "Input should be"),
        ('{"sample_fps": 500}', "invalid_options", "less than or equal to 30"),
        ("not json", "invalid_options", "Invalid JSON"),
    ],
)
def test_bad_options_are_refused(api: httpx.Client, running_stack: Settings, sample_video: Path, options: str,
                                 code: str, message: str) -> None:
    response = _upload_with_options(api, sample_video, options)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]["code"] == code
    assert message in response.json()["detail"]["message"]
    assert not stored_uploads(running_stack)


def test_sample_video_reports_all_its_planted_content(api: httpx.Client, sample_video: Path) -> None:
    """The caption, the spoken sentence, the face seen twice and the person, each with its time."""
    job = wait_for_job(api, upload(api, sample_video).json()["id"])
    assert job["status"] == "succeeded", job
    segments = api.get(f"/v1/jobs/{job['id']}/segments").json()["segments"]

    def spans(module: str, label: str) -> list[tuple[float, float]]:
        return [(s["start_s"], s["end_s"]) for s in segments if s["module"] == module and s["label"] == label]

    # OCR: PP-OCRv4, like its reference, reads the capitals without spaces.
    (caption,) = [s for s in segments if s["module"] == "ocr" and "GIFTCARDS" in s["label"].replace(" ", "")]
    assert caption["start_s"] == 0.0 and caption["end_s"] < 3.0
    (speech,) = [s for s in segments if s["module"] == "speech"]
    assert "check this video" in speech["label"].lower()
    assert SAMPLE_SPEECH.start_s - 0.3 <= speech["start_s"] < speech["end_s"] <= 9.5
    # One identity for both appearances of the astronaut.
    assert [(round(a), round(b)) for a, b in spans("faces", "face 1")] == [(3, 6), (9, 12)]
    assert not [s for s in segments if s["module"] == "faces" and s["label"] != "face 1"]
    assert [(round(a), round(b)) for a, b in spans("pose", "person")] == [(3, 6), (9, 12)]
    assert [(round(a), round(b)) for a, b in spans("nudity", "FACE_FEMALE")] == [(3, 6), (9, 12)]
    assert not [s for s in segments if s["module"] == "restraint"], "nobody in the sample is restrained"


def test_modules_say_what_is_served_and_how_to_enable_the_rest(api: httpx.Client) -> None:
    modules = {m["module"]: m for m in api.get("/v1/modules").json()}
    assert set(modules) == {"nudity", "ocr", "faces", "speech", "pose", "clip", "restraint", "text_embeddings", "text",
                            "shots", "known_content"}
    assert modules["nudity"]["available"]
    for decoded in ("shots", "known_content"):
        assert modules[decoded]["available"] and modules[decoded]["models"] == [], "found while decoding, by no model"
    assert modules["nudity"]["models"] == ["nudity", "nudity_preprocess", "nudity_detector", "nudity_postprocess"]
    assert not modules["clip"]["available"] and "VIDSAFE_CLIP_CHECKPOINT" in modules["clip"]["how_to_enable"]
