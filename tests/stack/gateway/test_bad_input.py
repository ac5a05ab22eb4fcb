"""Bad uploads end in a 4xx or a failed job with a specific reason; nothing is left on disk and the
worker goes on serving the next job."""

from __future__ import annotations

import os
import random
from pathlib import Path

import httpx
import pytest
from skimage import data, io

from tests.helpers.support import TEST_MAX_UPLOAD_BYTES, stored_uploads, upload, wait_for_job
from vidsafe.settings import Settings


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.fixture
def image_renamed_mp4(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    io.imsave(path, data.astronaut())
    return path.rename(tmp_path / "photo.mp4")


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda d: _write(d / "empty.mp4", b""), 400, "empty_file"),
        (lambda d: _write(d / "notes.mp4", b"these are meeting notes, not a video\n" * 20), 415, "not_a_video"),
        # Seeded: some random bytes happen to probe as a stream FFmpeg knows (issue 25 allow-lists containers).
        (lambda d: _write(d / "random.mp4", random.Random(0).randbytes(200_000)), 415, "not_a_video"),
        (lambda d: _write(d / "huge.mp4", os.urandom(TEST_MAX_UPLOAD_BYTES + 1024)), 413, "file_too_large"),
    ],
    ids=["empty", "text", "random-bytes", "over-size-limit"],
)
def test_bad_upload_is_refused_with_a_reason(api: httpx.Client, running_stack: Settings, tmp_path: Path,
                                             make, status: int, code: str) -> None:
    response = upload(api, make(tmp_path))
    assert response.status_code == status, response.text
    assert response.json()["detail"]["code"] == code
    assert response.json()["detail"]["message"]
    assert not stored_uploads(running_stack), "a refused upload must not stay on disk"


def test_still_image_renamed_mp4_is_refused(api: httpx.Client, image_renamed_mp4: Path) -> None:
    response = upload(api, image_renamed_mp4)
    assert response.status_code == 415
    assert "still image" in response.json()["detail"]["message"]


def test_upload_without_file_field_and_non_multipart(api: httpx.Client) -> None:
    assert api.post("/v1/jobs", files={"other": ("x.mp4", b"abc")}).json()["detail"]["code"] == "missing_file"
    response = api.post("/v1/jobs", content=b"raw", headers={"Content-Type": "video/mp4"})
    assert response.status_code == 415 and response.json()["detail"]["code"] == "not_multipart"


def test_client_file_name_never_becomes_a_path(api: httpx.Client, running_stack: Settings, sample_video: Path) -> None:
    response = upload(api, sample_video, name="../../../../tmp/owned.mp4")
    assert response.status_code == 201
    job = wait_for_job(api, response.json()["id"])
    assert job["source_name"] == "../../../../tmp/owned.mp4"
    assert not Path("/tmp/owned.mp4").exists()


def test_truncated_video_is_analysed_as_far_as_it_goes_and_worker_serves_next(
    api: httpx.Client, running_stack: Settings, sample_video: Path, tmp_path: Path
) -> None:
    truncated = _write(tmp_path / "cut.mp4", sample_video.read_bytes()[: sample_video.stat().st_size // 2])
    job = wait_for_job(api, upload(api, truncated).json()["id"])
    if job["status"] == "failed":  # the cut took the index (moov) with it: nothing can be read
        assert job["error_code"] == "unreadable_media" and job["error_message"]
    else:
        assert job["status"] == "succeeded" and [w["code"] for w in job["warnings"]] == ["partial_coverage"], job
        assert job["coverage"]["share"] < 0.95 and job["coverage"]["undecodable"][-1]["end_s"] == pytest.approx(12.0)
    assert not stored_uploads(running_stack)

    after = wait_for_job(api, upload(api, sample_video).json()["id"])
    assert after["status"] == "succeeded"
