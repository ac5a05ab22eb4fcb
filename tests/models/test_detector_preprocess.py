"""The face and OCR detectors' preprocessing models: the gpu profile's DALI pipelines, run on the CPU here, and the
cpu profile's python models, against the arithmetic the faces and ocr models run in-process
(``vidsafe_model_host.detector_inputs``); then faces and ocr calling them, as the gpu profile has them do, find
exactly what they find without.

Tolerances, measured on these frames: a frame kept at its size is copied exactly; the OCR detector's bilinear resize
rounds differently in DALI and OpenCV, by one grey level (1/127.5 after its normalisation); a frame the face
detector sees downscaled (longer side past ``max_side``) is averaged by OpenCV's area filter on the cpu profile and
by DALI's antialiased linear one on the gpu profile: up to 11 grey levels apart at sharp edges, 0.15 on average
(bounds 16 and 0.5).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from skimage import data
from tritonclient.grpc.model_config_pb2 import ModelConfig

from benchmarks.served import repository_variant
from tests.models.triton_helpers import REPOSITORY, assert_refused, client_fixture, infer, own_triton
from tests.support import isolated_settings, state_root
from vidsafe.export.dali import load_pipeline_module, serialize_dali_pipelines
from vidsafe.export.quantize import detector_inputs
from vidsafe.settings import Settings

PREPROCESS_MODELS = ("face_detector_preprocess", "ocr_det_preprocess")
MAX_SIDE = 1280  # the faces model's max_side parameter
ONE_OCR_GREY_LEVEL = 1 / 127.5 + 1e-6
DOWNSCALE_MAX, DOWNSCALE_MEAN = 16.0, 0.5
inputs = detector_inputs()
client = client_fixture(*PREPROCESS_MODELS)


def _frames() -> dict[str, np.ndarray]:
    astronaut = data.astronaut()
    return {
        "astronaut": astronaut,
        "coffee": data.coffee(),
        "wide": np.ascontiguousarray(astronaut[100:300]),
        "text": np.ascontiguousarray(np.repeat(data.text()[..., None], 3, axis=2)),
        "noise_17x9": np.random.default_rng(7).integers(0, 256, (9, 17, 3), dtype=np.uint8),
        "astronaut_1920x1080": cv2.resize(astronaut, (1920, 1080)),  # past max_side: the faces model downscales it
    }


FRAMES = _frames()


def face_size(frame: np.ndarray) -> tuple[int, int]:
    return inputs.face_detector_size(*frame.shape[:2], MAX_SIDE)


def ocr_image(frame: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(frame[..., ::-1])  # the ocr model hands its detector BGR images


def run_dali(model: str, images: list[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    # One fed batch, one run: no prefetching, so the outputs belong to these images.
    pipeline = getattr(load_pipeline_module(REPOSITORY / model), model)(device="cpu", prefetch_queue_depth=1)
    pipeline.build()
    pipeline.feed_input("IMAGE", images)
    pipeline.feed_input("SIZE", [np.array(size, dtype=np.int32)] * len(images))
    (blob,) = pipeline.run()
    return np.array(blob.as_tensor())


@pytest.mark.parametrize("name", list(FRAMES))
def test_face_dali_pipeline_matches_the_cpu_profile(name: str) -> None:
    frame = FRAMES[name]
    size = face_size(frame)
    expected = inputs.face_detector_blob(frame[None], size)
    blob = run_dali("face_detector_preprocess", [frame, frame], size)
    assert blob.shape == (2, *expected.shape[1:]) and blob.dtype == np.float32
    difference = np.abs(blob - expected)
    if size == (frame.shape[1], frame.shape[0]):
        assert difference.max() == 0
    else:
        assert difference.max() <= DOWNSCALE_MAX and difference.mean() <= DOWNSCALE_MEAN


@pytest.mark.parametrize("name", list(FRAMES))
def test_ocr_dali_pipeline_matches_the_cpu_profile(name: str) -> None:
    image = ocr_image(FRAMES[name])
    size = inputs.ocr_det_size(image)
    blob = run_dali("ocr_det_preprocess", [image], size)
    expected = inputs.ocr_det_input(image, size)
    assert blob.shape == (1, *expected.shape)
    assert np.abs(blob[0] - expected).max() <= ONE_OCR_GREY_LEVEL


def test_gpu_pipelines_serialize_for_triton(tmp_path: Path) -> None:
    repository = tmp_path / "model_repository"
    for model in PREPROCESS_MODELS:
        (repository / model / "1").mkdir(parents=True)
        (repository / model / "dali_pipeline.py").write_bytes((REPOSITORY / model / "dali_pipeline.py").read_bytes())
    written = serialize_dali_pipelines(Settings(model_repository=repository))
    assert written == [repository / model / "1" / "model.dali" for model in PREPROCESS_MODELS]
    assert all(path.stat().st_size > 500 for path in written)


# ---- the cpu profile's models, served --------------------------------------------------------------------

def sized(images: np.ndarray, size: tuple[int, int]) -> dict[str, np.ndarray]:
    return {"IMAGE": images, "SIZE": np.tile(np.array(size, dtype=np.int32), (len(images), 1))}


@pytest.mark.parametrize("name", ["astronaut", "text", "astronaut_1920x1080"])
def test_served_models_are_the_in_process_arithmetic(client: grpcclient.InferenceServerClient, name: str) -> None:
    frames = np.stack([FRAMES[name]] * 2)
    size = face_size(FRAMES[name])
    served = infer(client, "face_detector_preprocess", sized(frames, size), ("INPUT",))["INPUT"]
    np.testing.assert_array_equal(served, inputs.face_detector_blob(frames, size))
    images = np.stack([ocr_image(FRAMES[name])] * 2)
    size = inputs.ocr_det_size(images[0])
    served = infer(client, "ocr_det_preprocess", sized(images, size), ("INPUT",))["INPUT"]
    np.testing.assert_array_equal(served, inputs.ocr_det_blob(images, size))


def test_served_models_refuse_a_request_they_cannot_prepare(client: grpcclient.InferenceServerClient) -> None:
    frames = np.stack([FRAMES["astronaut"]] * 2)
    for model in PREPROCESS_MODELS:
        mixed = {"IMAGE": frames, "SIZE": np.array([[512, 512], [256, 256]], dtype=np.int32)}
        assert_refused(lambda m=model, r=mixed: infer(client, m, r, ("INPUT",)), "one (width, height) for every")
        assert_refused(lambda m=model: infer(client, m, sized(frames, (0, 512)), ("INPUT",)), "between 1 and")
        assert_refused(lambda m=model: infer(client, m, sized(frames, (99999, 512)), ("INPUT",)), "between 1 and")
        empty = sized(np.zeros((1, 0, 4, 3), dtype=np.uint8), (4, 4))
        assert_refused(lambda m=model, r=empty: infer(client, m, r, ("INPUT",)), "must not be empty")


# ---- faces and ocr through their preprocessing models (the gpu profile's path) ----------------------------

def _through_preprocess_models(config: ModelConfig) -> None:
    model = {"faces": "face_detector_preprocess", "ocr": "ocr_det_preprocess"}.get(config.name)
    if model:
        config.parameters["preprocess_model"].string_value = model


@pytest.fixture(scope="module")
def preprocessing_triton() -> Iterator[grpcclient.InferenceServerClient]:
    """A Triton of its own whose faces and ocr models call their preprocessing models, as in the gpu profile."""
    with state_root("preprocess") as root:
        repository = repository_variant(REPOSITORY, root / "model_repository", _through_preprocess_models)
        with own_triton(isolated_settings(root / "state", model_repository=repository,
                                                served_modules=["faces", "ocr"])) as triton:
            yield triton


@pytest.mark.parametrize("name", ["astronaut", "text", "astronaut_1920x1080"])
def test_faces_and_ocr_find_the_same_through_their_preprocessing_models(
        preprocessing_triton: grpcclient.InferenceServerClient, triton_url: str, name: str) -> None:
    frames = np.stack([FRAMES[name]] * 2)
    with grpcclient.InferenceServerClient(triton_url) as in_process:
        for model, outputs in (("faces", ("BOXES", "SCORES", "LANDMARKS", "EMBEDDINGS", "COUNT")),
                               ("ocr", ("TEXTS", "SCORES", "POLYGONS", "COUNT"))):
            expected = infer(in_process, model, {"IMAGE": frames}, outputs)
            got = infer(preprocessing_triton, model, {"IMAGE": frames}, outputs)
            for output in outputs:
                np.testing.assert_array_equal(got[output], expected[output], err_msg=f"{model} {output}")
