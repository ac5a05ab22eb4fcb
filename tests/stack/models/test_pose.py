"""The served ``pose`` model against its reference, mediapipe 0.10.21's legacy pose solution
(``Pose(static_image_mode=True, model_complexity=1)``), plus its configs, batching, the worker stage, a job
through the API, and the pose cues of ``workers.pose``.

mediapipe cannot live in the project's environment (numpy<2, protobuf<5), so its landmarks were written to
``tests/fixtures/pose/*.json`` by ``tests/fixtures/pose/make_reference.py``, run in a throwaway one; this
test rebuilds the same images (checking their sha256) and compares.

Tolerances. Served vs reference, measured on the machine the fixtures were made on (x86-64, AVX-512): x and
y within 0.0005 px, z within 0.0003 px, visibility within 1e-6, i.e. the fixtures' rounding: the model
repeats mediapipe's arithmetic (float32 where it places the crop) and runs the same .tflite files on the
same XNNPACK kernels. On another CPU, XNNPACK may pick other kernels; float-level differences then move a
landmark by a fraction of a pixel, and, rarely, move its 9x9 heatmap refinement window by one cell (1/64 of
the crop, which can span 3 frame widths) or flip its 0.5 confidence test. Hence the tolerances below, checked
against LiteRT's own spread on this kind of machine (benchmarks/results/numeric_spread.md: 1 and 2 threads,
XNNPACK and the SIMD-free reference kernels): landmarks moved by at most 9e-4 px of the 256 px crop, far inside
XY_TOLERANCE_PX; the heatmap logits by up to 0.48, which is what can shift a refinement window (JUMPS_ALLOWED).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from tests.helpers.pose import IMAGES, MODEL, REFERENCE
from tests.helpers.support import run_job
from tests.helpers.triton import assert_batched, assert_refused, client_fixture, infer, infer_concurrently, statistics
from vidsafe.export.sample_video import SAMPLE_SCENES
from vidsafe.media.decoding import SampledFrame
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient
from vidsafe.workers.pose import PoseStage

XY_TOLERANCE_PX = 0.5  # every landmark's x and y, but for at most JUMPS_ALLOWED per image:
JUMPS_ALLOWED = 2  # landmarks whose heatmap window moved a cell, off by at most:
JUMP_TOLERANCE = 1 / 16  # of the frame's longer side
Z_TOLERANCE_PX = 2.0  # z is the model's least stable output (its raw scale is large)
VISIBILITY_TOLERANCE = 0.005

OUTPUTS = ("LANDMARKS", "BOXES", "SCORES", "COUNT")

Pose = tuple[np.ndarray, np.ndarray, float]  # landmarks [33, 4], box [4], score


client = client_fixture(MODEL)


def decode(outputs: dict[str, np.ndarray]) -> list[Pose | None]:
    """Per frame, its pose or None; also checks the output contract (shapes, padding, box, score)."""
    frames = len(outputs["COUNT"])
    rows = outputs["SCORES"].shape[1]
    assert outputs["LANDMARKS"].shape == (frames, rows, 33, 4) and outputs["BOXES"].shape == (frames, rows, 4)
    assert rows == int(outputs["COUNT"].max(initial=0)) <= 1, "one row per frame when any frame has a pose"
    poses: list[Pose | None] = []
    for i, (count,) in enumerate(outputs["COUNT"]):
        if not count:
            assert not outputs["SCORES"][i].any() and not outputs["LANDMARKS"][i].any(), "padding is zeros"
            poses.append(None)
            continue
        landmarks, box, score = outputs["LANDMARKS"][i, 0], outputs["BOXES"][i, 0], float(outputs["SCORES"][i, 0])
        assert 0.5 < score <= 1, "the pose-presence score passed mediapipe's 0.5 threshold"
        assert np.all((landmarks[:, 3] >= 0) & (landmarks[:, 3] <= 1)), "visibility is a probability"
        poses.append((landmarks, box, score))
    return poses


def served(client: grpcclient.InferenceServerClient, frames: np.ndarray) -> list[Pose | None]:
    return decode(infer(client, MODEL, {"IMAGE": frames}, OUTPUTS))


def assert_matches_reference(found: Pose | None, name: str, what: str = "") -> None:
    expected = REFERENCE[name]["landmarks"]
    what = f"{name}{what}"
    if expected is None:
        assert found is None, f"{what}: mediapipe finds no pose, served found one"
        return
    assert found is not None, f"{what}: mediapipe finds a pose, served none"
    landmarks, box, _ = found
    expected = np.array(expected)
    height, width = IMAGES[name].shape[:2]
    xy_error = np.abs(landmarks[:, :2] - expected[:, :2]).max(axis=1)
    jumped = np.flatnonzero(xy_error > XY_TOLERANCE_PX)
    assert len(jumped) <= JUMPS_ALLOWED, f"{what}: landmarks {jumped} off by {xy_error[jumped]} px"
    assert np.all(xy_error <= JUMP_TOLERANCE * max(height, width)), f"{what}: x, y off by {xy_error.max()} px"
    np.testing.assert_allclose(landmarks[:, 2], expected[:, 2], rtol=0, atol=Z_TOLERANCE_PX, err_msg=what)
    np.testing.assert_allclose(landmarks[:, 3], expected[:, 3], rtol=0, atol=VISIBILITY_TOLERANCE, err_msg=what)
    # The box is the landmarks' extent, clipped to the frame (to the stage's 0.01 px rounding).
    extent = np.concatenate([landmarks[:, :2].min(axis=0), landmarks[:, :2].max(axis=0)])
    np.testing.assert_allclose(box, np.clip(extent, 0, [width, height, width, height]), rtol=0, atol=0.01)


# Parity with the reference


@pytest.mark.parametrize("name", list(IMAGES))
def test_single_frame_matches_reference(client, name: str) -> None:
    (found,) = served(client, IMAGES[name][None])
    assert_matches_reference(found, name)


def test_several_frames_in_one_request_match_reference(client) -> None:
    names = [name for name, image in IMAGES.items() if image.shape == (512, 512, 3)]
    assert len(names) >= 4
    results = served(client, np.stack([IMAGES[name] for name in names] + [np.zeros((512, 512, 3), np.uint8)]))
    assert results[-1] is None, "an empty frame among people has a padding row"
    for k, (found, name) in enumerate(zip(results[:-1], names, strict=True)):
        assert_matches_reference(found, name, f" (frame {k} of the request)")


def test_request_without_anyone_has_no_rows(client) -> None:
    frames = np.stack([IMAGES["noise"], np.zeros_like(IMAGES["noise"])])
    outputs = infer(client, MODEL, {"IMAGE": frames}, OUTPUTS)
    assert outputs["LANDMARKS"].shape == (2, 0, 33, 4) and outputs["COUNT"].tolist() == [[0], [0]]


# Batching


def test_concurrent_requests_are_batched_and_answered_in_kind(client) -> None:
    # Triton batches requests of one shape only (a job's frames share a size): 512x512 people, and nobody.
    names = [name for name, image in IMAGES.items() if image.shape == (512, 512, 3)]
    frames = {**IMAGES, "nobody": np.zeros((512, 512, 3), dtype=np.uint8)}
    names.append("nobody")
    before = statistics(client, MODEL)
    requests = 36
    results = infer_concurrently(client, MODEL, [{"IMAGE": frames[names[k % len(names)]][None]}
                                                 for k in range(requests)], OUTPUTS)
    for index, outputs in enumerate(results):
        (found,) = decode(outputs)
        # Batching concatenates and splits requests: each must get its own frame's pose back.
        name = names[index % len(names)]
        if name == "nobody":
            assert found is None
        else:
            assert_matches_reference(found, name, f" (request {index})")
    assert_batched(client, MODEL, before, requests, "the dynamic batcher combined requests")


# Bad input


@pytest.mark.parametrize(("shape", "message"), [
    ((1, 10, 10, 4), "unexpected shape"),
    ((10, 10, 3), "unexpected shape"),
    ((17, 8, 8, 3), "batch-size must be <= 16"),
    ((1, 0, 0, 3), "must not be empty"),
    ((2, 5, 0, 3), "must not be empty"),
])
def test_bad_input_is_refused_and_server_keeps_serving(client, shape, message: str) -> None:
    assert_refused(lambda: served(client, np.zeros(shape, dtype=np.uint8)), message)
    (found,) = served(client, IMAGES["astronaut"][None])
    assert_matches_reference(found, "astronaut", " (request after a refused one)")


# The worker stage and a job


def test_stage_turns_frames_into_person_findings(running_stack: Settings) -> None:
    names = ["astronaut", "nobody", "astronaut_mirrored", "camera"]  # a job's frames share one size
    images = {**IMAGES, "nobody": np.full((512, 512, 3), 90, dtype=np.uint8)}
    frames = [SampledFrame(index=i, timestamp_s=0.5 * i, rgb=images[name]) for i, name in enumerate(names)]
    with TritonClient(running_stack.effective_triton_url) as triton:
        findings = PoseStage(triton, 0.5, running_stack).submit(frames)()
        strict = PoseStage(triton, 0.99, running_stack).submit(frames)()
    assert [f.frame_index for f in findings] == [0, 2, 3]
    for finding in findings:
        assert finding.module == "pose" and finding.label == "person" and 0.5 <= finding.score <= 1
        assert finding.timestamp_s == 0.5 * finding.frame_index
        landmarks = np.array(finding.attributes["landmarks"])
        assert landmarks.shape == (33, 4)
        assert_matches_reference((landmarks, np.array(finding.box), finding.score), names[finding.frame_index])
        json.dumps(finding.attributes)  # stored as JSON
    assert [f.frame_index for f in strict] == [f.frame_index for f in findings if f.score >= 0.99]
    assert len(strict) < len(findings), "min_score filters"


def test_person_of_the_sample_video_is_found_when_on_screen(api: httpx.Client, sample_video: Path) -> None:
    _, findings = run_job(api, sample_video, '{"modules": ["pose"], "sample_fps": 1}')
    astronaut = [s for s in SAMPLE_SCENES if s.photo == "astronaut"]
    on_screen = sorted(float(t) for s in astronaut for t in range(int(s.start_s), int(s.end_s)))
    # Sampled frames fall on the video's own frame times (25 fps), a few ms after each whole second.
    found_at = sorted(f["timestamp_s"] for f in findings)
    assert found_at == pytest.approx(on_screen, abs=0.05), "the astronaut, and only her, every second"
    for finding in findings:
        assert finding["module"] == "pose" and finding["label"] == "person"
        assert len(finding["attributes"]["landmarks"]) == 33
