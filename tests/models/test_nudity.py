"""The served ``nudity`` ensemble against its reference, nudenet 3.4.2, plus its configs and batching.

The reference is called the way its users call it: with a BGR array (cv2 convention). The ensemble
takes RGB, so each test frame is sent as RGB and handed to nudenet reversed.
"""

from __future__ import annotations

import queue
from collections import Counter
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from google.protobuf import text_format
from nudenet import NudeDetector
from nudenet import nudenet as reference_module
from skimage import data
from tritonclient.grpc import model_config_pb2
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"
MODELS = ("nudity", "nudity_preprocess", "nudity_detector", "nudity_postprocess")
OUTPUTS = ("BOXES", "SCORES", "LABELS", "COUNT")
BOX_TOLERANCE_PX = 2.0  # nudenet truncates x, y, w and h to ints, so x2 = int(x) + int(w) is up to 2 px off
SCORE_TOLERANCE = 0.01
REFERENCE_LABELS = list(vars(reference_module)["__labels"])

Detection = tuple[str, float, np.ndarray]  # label, score, [x1, y1, x2, y2]
stack = pytest.mark.stack


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


@pytest.fixture(scope="module")
def client(triton_url: str) -> grpcclient.InferenceServerClient:
    with grpcclient.InferenceServerClient(triton_url) as triton:
        assert all(triton.is_model_ready(model) for model in MODELS)
        yield triton


@pytest.fixture(scope="module")
def detector() -> NudeDetector:
    return NudeDetector()


def infer(client: grpcclient.InferenceServerClient, model: str, tensors: dict[str, np.ndarray],
          outputs: tuple[str, ...]) -> dict[str, np.ndarray]:
    result = client.infer(model, _inputs(tensors), outputs=[grpcclient.InferRequestedOutput(n) for n in outputs])
    return {name: result.as_numpy(name) for name in outputs}


def _inputs(tensors: dict[str, np.ndarray]) -> list[grpcclient.InferInput]:
    inputs = []
    for name, array in tensors.items():
        tensor = grpcclient.InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
        tensor.set_data_from_numpy(array)
        inputs.append(tensor)
    return inputs


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


@stack
@pytest.mark.parametrize("name", list(FRAMES))
def test_single_frame_matches_reference(client, detector, name: str) -> None:
    (actual,) = served(client, FRAMES[name][None])
    assert_matches(actual, reference(detector, FRAMES[name]), name)


@stack
def test_several_frames_in_one_request_match_reference(client, detector) -> None:
    square = [name for name, frame in FRAMES.items() if frame.shape == (512, 512, 3)]
    frames = [FRAMES[name] for name in square] + [FRAMES["astronaut"][:, ::-1], FRAMES["astronaut"][::-1]]
    results = served(client, np.stack(frames))
    assert len(results) == len(frames)
    assert sum(map(len, results)) > 0
    for k, (actual, frame) in enumerate(zip(results, frames, strict=True)):
        assert_matches(actual, reference(detector, frame), f"frame {k} of the request")


@stack
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


@stack
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


@stack
def test_concurrent_requests_are_batched_and_answered_in_kind(client, detector) -> None:
    frames = [FRAMES["astronaut"], FRAMES["camera_grey"], FRAMES["astronaut"][::-1], FRAMES["astronaut"][:, ::-1]]
    expected = [reference(detector, frame) for frame in frames]
    before = client.get_inference_statistics("nudity_detector").model_stats[0]
    done: queue.Queue = queue.Queue()

    # tritonclient calls back with exactly these keyword names; others fail silently and hang the test.
    def on_done(index: int, result: grpcclient.InferResult | None = None,
                error: InferenceServerException | None = None) -> None:
        done.put((index, result, error))

    requests = 48
    for index in range(requests):
        client.async_infer("nudity", _inputs({"IMAGE": frames[index % len(frames)][None]}), partial(on_done, index),
                           outputs=[grpcclient.InferRequestedOutput(n) for n in OUTPUTS])
    for _ in range(requests):
        index, result, error = done.get(timeout=300)  # a guard against a hang, not a speed check
        assert error is None, error
        (actual,) = decode({name: result.as_numpy(name) for name in OUTPUTS})
        # Batching concatenates and splits requests: each must get its own frame's detections back.
        assert_matches(actual, expected[index % len(frames)], f"request {index}")

    after = client.get_inference_statistics("nudity_detector").model_stats[0]
    inferences = after.inference_count - before.inference_count
    executions = after.execution_count - before.execution_count
    assert inferences == requests
    assert executions < inferences, "Triton's dynamic batcher combined requests into batches"


# Bad input


@stack
@pytest.mark.parametrize(("shape", "message"), [
    ((1, 10, 10, 4), "unexpected shape"),
    ((10, 10, 3), "unexpected shape"),
    ((17, 8, 8, 3), "batch-size must be <= 16"),
    ((1, 0, 0, 3), "must not be empty"),
    ((2, 0, 10, 3), "must not be empty"),
])
def test_bad_input_is_refused_and_server_keeps_serving(client, detector, shape, message: str) -> None:
    with pytest.raises(InferenceServerException) as refused:
        served(client, np.zeros(shape, dtype=np.uint8))
    assert refused.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert message in refused.value.message()
    (actual,) = served(client, FRAMES["astronaut"][None])
    assert_matches(actual, reference(detector, FRAMES["astronaut"]), "request after a refused one")


@stack
def test_wrong_dtype_is_refused(client) -> None:
    with pytest.raises(InferenceServerException, match="expects 'UINT8'"):
        infer(client, "nudity", {"IMAGE": np.zeros((1, 8, 8, 3), dtype=np.float32)}, OUTPUTS)


# Configs (no server needed)


def load_config(path: Path) -> model_config_pb2.ModelConfig:
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def signature(config: model_config_pb2.ModelConfig) -> tuple:
    def tensors(items) -> list[tuple]:
        return [(t.name, t.data_type, list(t.dims)) for t in items]

    return config.name, config.max_batch_size, tensors(config.input), tensors(config.output)


@pytest.mark.parametrize("model", MODELS)
def test_cpu_and_gpu_configs_parse_and_agree(model: str) -> None:
    cpu = load_config(REPOSITORY / model / "config.pbtxt")
    gpu = load_config(REPOSITORY / model / "configs" / "gpu.pbtxt")
    assert cpu.name == model
    assert signature(gpu) == signature(cpu)
    assert cpu.max_batch_size == 16
    assert (REPOSITORY / model / "1").is_dir()
    assert cpu.dynamic_batching == gpu.dynamic_batching


def test_profiles_pick_the_intended_backends() -> None:
    for model in ("nudity_preprocess", "nudity_detector", "nudity_postprocess"):
        cpu = load_config(REPOSITORY / model / "config.pbtxt")
        assert cpu.backend == "python"
        assert [g.kind for g in cpu.instance_group] == [model_config_pb2.ModelInstanceGroup.KIND_CPU]
    gpu = load_config(REPOSITORY / "nudity_detector" / "configs" / "gpu.pbtxt")
    assert gpu.backend == "onnxruntime" and gpu.default_model_filename == "model.onnx"
    assert [g.kind for g in gpu.instance_group] == [model_config_pb2.ModelInstanceGroup.KIND_GPU]
    assert load_config(REPOSITORY / "nudity_preprocess" / "configs" / "gpu.pbtxt").backend == "dali"


@pytest.mark.parametrize("profile", ["config.pbtxt", "configs/gpu.pbtxt"])
def test_ensemble_wiring_matches_its_steps(profile: str) -> None:
    ensemble = load_config(REPOSITORY / "nudity" / profile)
    assert ensemble.platform == "ensemble"
    produced = {t.name for t in ensemble.input}
    for step in ensemble.ensemble_scheduling.step:
        model = load_config(REPOSITORY / step.model_name / profile)
        assert model.max_batch_size == ensemble.max_batch_size
        assert set(step.input_map) == {t.name for t in model.input}
        assert set(step.output_map) == {t.name for t in model.output}
        assert set(step.input_map.values()) <= produced, f"{step.model_name} reads a tensor made later"
        produced |= set(step.output_map.values())
    assert {t.name for t in ensemble.output} == set(OUTPUTS) <= produced


def test_labels_are_the_reference_classes_in_output_order() -> None:
    labels = (REPOSITORY / "nudity_postprocess" / "labels.txt").read_text().split()
    assert labels == REFERENCE_LABELS
    detector = load_config(REPOSITORY / "nudity_detector" / "config.pbtxt")
    assert list(detector.output[0].dims) == [4 + len(labels), 2100]
