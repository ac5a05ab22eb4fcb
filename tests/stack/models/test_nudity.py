"""The served ``nudity`` ensemble against its reference, nudenet 3.4.2, plus its configs and batching.

The reference is called the way its users call it: with a BGR array (cv2 convention). The ensemble
takes RGB, so each test frame is sent as RGB and handed to nudenet reversed.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from nudenet import NudeDetector
from nudenet import nudenet as reference_module
from skimage import data

from tests.helpers.nudity import MODELS, OUTPUTS
from tests.helpers.triton import assert_batched, assert_refused, client_fixture, infer, infer_concurrently, statistics

BOX_TOLERANCE_PX = 2.0  # nudenet truncates x, y, w and h to ints, so x2 = int(x) + int(w) is up to 2 px off
SCORE_TOLERANCE = 0.01  # ONNX Runtime's own spread over threads and optimisations: 1.1e-4 (numeric_spread.md)

Detection = tuple[str, float, np.ndarray]  # label, score, [x1, y1, x2, y2]


def _frames() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240601)
    astronaut = data.astronaut()
    camera = np.repeat(data.camera()[..., None], 3, axis=2)
    return {
        "astronaut": astronaut,
        "coffee": data.coffee(),
        "chelsea": data.chelsea(),
        "camera_grey": camera,
        "astronaut_small": np.ascontiguousarray(astronaut[::2, ::2]),
        "crop_wide": np.ascontiguousarray(astronaut[40:340, 60:500]),
        "crop_tall": np.ascontiguousarray(astronaut[:, 150:350]),
        "mosaic": np.concatenate([np.concatenate([astronaut, astronaut[:, ::-1]], axis=1),
                                  np.concatenate([camera, camera[:, ::-1]], axis=1)]),
        "noise": rng.integers(0, 256, (240, 320, 3), dtype=np.uint8),
        "solid": np.full((200, 300, 3), (200, 150, 120), dtype=np.uint8),
        "tiny_17x9": rng.integers(0, 256, (9, 17, 3), dtype=np.uint8),
    }


FRAMES = _frames()


client = client_fixture(*MODELS)


def decode(outputs: dict[str, np.ndarray]) -> list[list[Detection]]:
    """Per frame, its real detections; also checks the padding contract of the rows past COUNT."""
    frames = []
    for i, count in enumerate(outputs["COUNT"][:, 0]):
        assert np.all(outputs["SCORES"][i, count:] == 0) and all(v == b"" for v in outputs["LABELS"][i, count:])
        scores = outputs["SCORES"][i, :count]
        assert np.all(np.diff(scores) <= 0), "detections come best first"
        frames.append([(outputs["LABELS"][i, k].decode(), float(scores[k]), outputs["BOXES"][i, k].astype(float))
                       for k in range(count)])
    return frames


def served(client: grpcclient.InferenceServerClient, frames: np.ndarray) -> list[list[Detection]]:
    return decode(infer(client, "nudity", {"IMAGE": frames}, OUTPUTS))


def from_reference(found: list[dict]) -> list[Detection]:
    """nudenet's {"class", "score", "box": [x, y, w, h]} -> (label, score, [x1, y1, x2, y2])."""
    return [(d["class"], d["score"], np.array([x, y, x + w, y + h], dtype=float))
            for d in found for x, y, w, h in [d["box"]]]


def reference(detector: NudeDetector, rgb: np.ndarray) -> list[Detection]:
    return from_reference(detector.detect(np.ascontiguousarray(rgb[..., ::-1])))


def assert_matches(actual: list[Detection], expected: list[Detection], what: str) -> None:
    assert Counter(d[0] for d in actual) == Counter(d[0] for d in expected), what
    unmatched = list(range(len(actual)))
    for label, score, box in expected:
        match = next((k for k in unmatched if actual[k][0] == label
                      and abs(actual[k][1] - score) <= SCORE_TOLERANCE
                      and np.all(np.abs(actual[k][2] - box) <= BOX_TOLERANCE_PX)), None)
        assert match is not None, f"{what}: nothing served matches {label} {score:.4f} {box}; got {actual}"
        unmatched.remove(match)


# Parity with the reference


@pytest.mark.parametrize("name", list(FRAMES))
def test_single_frame_matches_reference(client, detector, name: str) -> None:
    (actual,) = served(client, FRAMES[name][None])
    assert_matches(actual, reference(detector, FRAMES[name]), name)


def test_several_frames_in_one_request_match_reference(client, detector) -> None:
    square = [name for name, frame in FRAMES.items() if frame.shape == (512, 512, 3)]
    frames = [FRAMES[name] for name in square] + [FRAMES["astronaut"][:, ::-1], FRAMES["astronaut"][::-1]]
    results = served(client, np.stack(frames))
    assert len(results) == len(frames)
    assert sum(map(len, results)) > 0
    for k, (actual, frame) in enumerate(zip(results, frames, strict=True)):
        assert_matches(actual, reference(detector, frame), f"frame {k} of the request")


@pytest.mark.parametrize("name", ["astronaut", "crop_wide", "crop_tall", "tiny_17x9"])
def test_preprocess_is_bit_identical_to_reference(client, name: str) -> None:
    rgb = FRAMES[name]
    blob, *_ = reference_module._read_image(np.ascontiguousarray(rgb[..., ::-1]), 320)
    out = infer(client, "nudity_preprocess", {"IMAGE": rgb[None]}, ("INPUT", "LETTERBOX"))
    np.testing.assert_array_equal(out["INPUT"], blob)
    height, width = rgb.shape[:2]
    np.testing.assert_array_equal(out["LETTERBOX"], [[max(height, width), width, height]])


def synthetic_output(rng: np.random.Generator, clusters: int) -> np.ndarray:
    """A [22, 2100] detector output with clusters of overlapping candidates, some past the frame edges."""
    output = np.zeros((22, 2100), dtype=np.float32)
    output[4:] = rng.uniform(0.0, 0.19, (18, 2100))
    for anchors in rng.permutation(2100)[: clusters * 12].reshape(clusters, 12):
        centre, size = rng.uniform(-30, 350, 2), rng.uniform(3, 160, 2)
        output[0:2, anchors] = centre[:, None] + rng.normal(0, 0.15, (2, 12)) * size[:, None]
        output[2:4, anchors] = size[:, None] * rng.uniform(0.7, 1.3, (2, 12))
        output[4 + rng.integers(0, 18, 12), anchors] = rng.uniform(0.1, 1.0, 12)
    return output


def test_postprocess_matches_reference_nms(client) -> None:
    rng = np.random.default_rng(7)
    sizes = [(640, 360), (200, 512), (17, 9), (320, 320)]  # width, height
    outputs = np.stack([synthetic_output(rng, clusters) for clusters in (40, 25, 3, 0)])
    letterbox = np.array([[max(w, h), w, h] for w, h in sizes], dtype=np.float32)
    results = decode(infer(client, "nudity_postprocess", {"output0": outputs, "LETTERBOX": letterbox}, OUTPUTS))
    assert len(results[0]) > 10, "the synthetic output exercises NMS"
    assert results[3] == []
    for output, (width, height), actual in zip(outputs, sizes, results, strict=True):
        side = max(width, height)
        expected = from_reference(reference_module._postprocess(
            [output[None]], side - width, side - height, side / width, side / height, width, height, 320, 320))
        # No network in between: same detections in the same order, scores to float32 precision.
        assert [d[0] for d in actual] == [d[0] for d in expected]
        np.testing.assert_allclose([d[1] for d in actual], [d[1] for d in expected], rtol=0, atol=1e-6)
        for (_, _, box), (_, _, expected_box) in zip(actual, expected, strict=True):
            assert np.all(np.abs(box - expected_box) <= BOX_TOLERANCE_PX)


# Batching


def test_concurrent_requests_are_batched_and_answered_in_kind(client, detector) -> None:
    frames = [FRAMES["astronaut"], FRAMES["camera_grey"], FRAMES["astronaut"][::-1], FRAMES["astronaut"][:, ::-1]]
    expected = [reference(detector, frame) for frame in frames]
    before = statistics(client, "nudity_detector")
    requests = 48
    results = infer_concurrently(client, "nudity", [{"IMAGE": frames[k % len(frames)][None]} for k in range(requests)],
                                 OUTPUTS)
    for index, outputs in enumerate(results):
        (actual,) = decode(outputs)
        # Batching concatenates and splits requests: each must get its own frame's detections back.
        assert_matches(actual, expected[index % len(frames)], f"request {index}")
    assert_batched(client, "nudity_detector", before, requests)


# Bad input


@pytest.mark.parametrize(("shape", "message"), [
    ((1, 10, 10, 4), "unexpected shape"),
    ((10, 10, 3), "unexpected shape"),
    ((17, 8, 8, 3), "batch-size must be <= 16"),
    ((1, 0, 0, 3), "must not be empty"),
    ((2, 0, 10, 3), "must not be empty"),
])
def test_bad_input_is_refused_and_server_keeps_serving(client, detector, shape, message: str) -> None:
    assert_refused(lambda: served(client, np.zeros(shape, dtype=np.uint8)), message)
    (actual,) = served(client, FRAMES["astronaut"][None])
    assert_matches(actual, reference(detector, FRAMES["astronaut"]), "request after a refused one")
