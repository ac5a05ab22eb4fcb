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

from tests.fixtures.pose.make_reference import FIXTURES, reference_images, sha256_of
from tests.models.triton_helpers import (
    KIND_CPU,
    assert_batched,
    assert_refused,
    assert_served_by,
    client_fixture,
    infer,
    infer_concurrently,
    load_config,
    load_profiles,
    statistics,
)
from tests.support import run_job
from vidsafe.catalogue import load_catalogue
from vidsafe.export.sample_video import SAMPLE_SCENES
from vidsafe.media.decoding import SampledFrame
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient
from vidsafe.workers import pose
from vidsafe.workers.pose import PoseStage, arms_above_head, arms_behind_back, wrist_gap, wrists_together

XY_TOLERANCE_PX = 0.5  # every landmark's x and y, but for at most JUMPS_ALLOWED per image:
JUMPS_ALLOWED = 2  # landmarks whose heatmap window moved a cell, off by at most:
JUMP_TOLERANCE = 1 / 16  # of the frame's longer side
Z_TOLERANCE_PX = 2.0  # z is the model's least stable output (its raw scale is large)
VISIBILITY_TOLERANCE = 0.005

MODEL = "pose"
OUTPUTS = ("LANDMARKS", "BOXES", "SCORES", "COUNT")
IMAGES = reference_images()
REFERENCE = {name: json.loads((FIXTURES / f"{name}.json").read_text()) for name in IMAGES}
PEOPLE = [name for name, record in REFERENCE.items() if record["landmarks"] is not None]
NOBODY = [name for name in IMAGES if name not in PEOPLE]

Pose = tuple[np.ndarray, np.ndarray, float]  # landmarks [33, 4], box [4], score
stack = pytest.mark.stack


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


def test_fixture_images_are_the_ones_mediapipe_saw() -> None:
    for name, image in IMAGES.items():
        record = REFERENCE[name]
        assert record["shape"] == list(image.shape) and record["sha256"] == sha256_of(image), \
            f"{name} changed: regenerate the fixtures with tests/fixtures/pose/make_reference.py"
    assert len(PEOPLE) >= 10 and len(NOBODY) >= 5, "both kinds of frames are exercised"


# Parity with the reference


@stack
@pytest.mark.parametrize("name", list(IMAGES))
def test_single_frame_matches_reference(client, name: str) -> None:
    (found,) = served(client, IMAGES[name][None])
    assert_matches_reference(found, name)


@stack
def test_several_frames_in_one_request_match_reference(client) -> None:
    names = [name for name, image in IMAGES.items() if image.shape == (512, 512, 3)]
    assert len(names) >= 4
    results = served(client, np.stack([IMAGES[name] for name in names] + [np.zeros((512, 512, 3), np.uint8)]))
    assert results[-1] is None, "an empty frame among people has a padding row"
    for k, (found, name) in enumerate(zip(results[:-1], names, strict=True)):
        assert_matches_reference(found, name, f" (frame {k} of the request)")


@stack
def test_request_without_anyone_has_no_rows(client) -> None:
    frames = np.stack([IMAGES["noise"], np.zeros_like(IMAGES["noise"])])
    outputs = infer(client, MODEL, {"IMAGE": frames}, OUTPUTS)
    assert outputs["LANDMARKS"].shape == (2, 0, 33, 4) and outputs["COUNT"].tolist() == [[0], [0]]


# Batching


@stack
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


@stack
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


@stack
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


@stack
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


# Configs and catalogue (no server needed); tests/models/test_configs.py checks what every model's configs must say


def test_both_profiles_run_the_python_model_on_the_cpu() -> None:
    cpu, gpu = load_profiles(MODEL)
    assert cpu.max_batch_size == 16
    assert cpu.parameters == gpu.parameters
    # Both profiles run the python model: Triton has no TFLite backend.
    for config in (cpu, gpu):
        assert_served_by(config, "python", KIND_CPU)


def test_outputs_are_what_the_stage_reads() -> None:
    config = load_config(MODEL)
    assert tuple(t.name for t in config.output) == PoseStage.outputs
    assert [list(t.dims) for t in config.output] == [[-1, 33, 4], [-1, 4], [-1], [1]]


def test_catalogue_entry_serves_the_model_and_both_tflite_files() -> None:
    entry = load_catalogue()["pose"]
    assert entry.triton_models == (MODEL,) and entry.calls == {"frames": MODEL}
    assert sorted(entry.served_files) == ["pose/1/pose_detection.tflite", "pose/1/pose_landmark_full.tflite"]


# Pose cues


def _standing() -> np.ndarray:
    """A hand-made person facing the camera in a 640x480 frame, arms hanging, everything visible. Their
    left is the image's right. z: face nearest, hips 0."""
    landmarks = np.zeros((33, 4))
    landmarks[:, 3] = 0.99
    points = {
        0: (320, 100, -60), 1: (327, 92, -55), 2: (331, 92, -55), 3: (335, 92, -55), 4: (313, 92, -55),
        5: (309, 92, -55), 6: (305, 92, -55), 7: (342, 96, -30), 8: (298, 96, -30), 9: (326, 112, -55),
        10: (314, 112, -55), 11: (360, 150, -20), 12: (280, 150, -20), 13: (372, 222, -15), 14: (268, 222, -15),
        15: (380, 290, -25), 16: (260, 290, -25), 17: (384, 305, -28), 18: (256, 305, -28), 19: (382, 308, -30),
        20: (258, 308, -30), 21: (376, 300, -28), 22: (264, 300, -28), 23: (345, 300, 2), 24: (295, 300, -2),
        25: (345, 390, 5), 26: (295, 390, 5), 27: (345, 470, 20), 28: (295, 470, 20), 29: (345, 478, 25),
        30: (295, 478, 25), 31: (345, 480, 0), 32: (295, 480, 0),
    }
    for index, point in points.items():
        landmarks[index, :3] = point
    return landmarks


def _with(landmarks: np.ndarray, **changes: tuple[float, ...]) -> np.ndarray:
    """A copy with some landmarks changed, named as in workers.pose (LEFT_WRIST=(x, y, z, visibility))."""
    changed = landmarks.copy()
    for name, values in changes.items():
        changed[getattr(pose, name), :len(values)] = values
    return changed


def _rotated(landmarks: np.ndarray, degrees: float) -> np.ndarray:
    """The same pose turned in the image plane about the frame centre (a person lying down)."""
    turn = np.radians(degrees)
    matrix = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    turned = landmarks.copy()
    turned[:, :2] = (landmarks[:, :2] - (320, 240)) @ matrix.T + (320, 240)
    return turned


STANDING = _standing()
HANDS_TIED_IN_FRONT = _with(STANDING, LEFT_ELBOW=(350, 215), RIGHT_ELBOW=(290, 215),
                            LEFT_WRIST=(325, 262), RIGHT_WRIST=(315, 262))
ARMS_UP = _with(STANDING, LEFT_ELBOW=(385, 95), RIGHT_ELBOW=(255, 95), LEFT_WRIST=(372, 40), RIGHT_WRIST=(268, 40))
ARMS_BEHIND = _with(STANDING, LEFT_ELBOW=(368, 225, 35), RIGHT_ELBOW=(272, 225, 35),
                    LEFT_WRIST=(330, 290, 45, 0.1), RIGHT_WRIST=(310, 290, 45, 0.1))


@pytest.mark.parametrize(("landmarks", "together", "behind", "above"), [
    (STANDING, False, False, False),
    (HANDS_TIED_IN_FRONT, True, False, False),
    (ARMS_UP, False, False, True),
    (ARMS_BEHIND, False, True, False),
    (_rotated(HANDS_TIED_IN_FRONT, 90), True, False, False),
    (_rotated(ARMS_UP, 90), False, False, True),  # lying down: "above the head" follows the body
    (_rotated(ARMS_UP, 180), False, False, True),
    (_rotated(STANDING, -90), False, False, False),
])
def test_cues_on_hand_made_poses(landmarks: np.ndarray, together: bool, behind: bool, above: bool) -> None:
    assert (wrists_together(landmarks), arms_behind_back(landmarks), arms_above_head(landmarks)) == \
        (together, behind, above)


def test_cues_need_both_arms_and_visible_points() -> None:
    one_arm_up = _with(STANDING, LEFT_ELBOW=(385, 95), LEFT_WRIST=(372, 40))
    assert not arms_above_head(one_arm_up)
    assert not arms_above_head(_with(ARMS_UP, RIGHT_WRIST=(268, 40, -25, 0.2)))
    assert not wrists_together(_with(HANDS_TIED_IN_FRONT, LEFT_WRIST=(325, 262, -25, 0.3)))
    assert wrists_together(_with(HANDS_TIED_IN_FRONT, LEFT_WRIST=(325, 262, -25, 0.3)), min_visibility=0.2)
    assert not arms_behind_back(_with(ARMS_BEHIND, RIGHT_ELBOW=(272, 225, -30)))  # that elbow is in front
    assert not arms_behind_back(_with(ARMS_BEHIND, LEFT_WRIST=(330, 290, -40, 0.1)))  # hidden, but in front
    assert not arms_behind_back(_with(ARMS_BEHIND, LEFT_SHOULDER=(360, 150, -20, 0.1)))


def test_wrist_gap_is_in_shoulder_widths() -> None:
    assert wrist_gap(STANDING) == pytest.approx(120 / 80)
    assert wrist_gap(HANDS_TIED_IN_FRONT) == pytest.approx(10 / 80)
    assert wrists_together(HANDS_TIED_IN_FRONT, max_gap=0.1) is False
    assert wrist_gap(STANDING.tolist()) == wrist_gap(STANDING), "a finding's JSON lists work as well"
    with pytest.raises(ValueError, match="33 landmarks"):
        wrist_gap(STANDING[:17])


@pytest.mark.parametrize("name", PEOPLE)
def test_no_cue_on_the_reference_photos(name: str) -> None:
    # Nobody in these photos is restrained: mediapipe's own landmarks must raise none of the cues. (The
    # astronaut's hands are cut off by the frame: hidden wrists alone must not read as arms behind the back.)
    landmarks = REFERENCE[name]["landmarks"]
    assert (wrists_together(landmarks), arms_behind_back(landmarks), arms_above_head(landmarks)) == \
        (False, False, False)
