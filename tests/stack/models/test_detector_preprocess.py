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

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from tritonclient.grpc.model_config_pb2 import ModelConfig

from benchmarks.served import repository_variant
from tests.helpers.detector_preprocess import FRAMES, PREPROCESS_MODELS, face_size, inputs, ocr_image
from tests.helpers.model_configs import REPOSITORY
from tests.helpers.support import isolated_settings, state_root
from tests.helpers.triton import assert_refused, client_fixture, infer, own_triton

client = client_fixture(*PREPROCESS_MODELS)


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
