"""The detectors' preprocessing in the gpu profile (DALI pipelines, run here on the CPU) against the cpu profile's
code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.detector_preprocess import FRAMES, PREPROCESS_MODELS, face_size, inputs, ocr_image
from tests.helpers.model_configs import REPOSITORY
from vidsafe.export.dali import load_pipeline_module, serialize_dali_pipelines
from vidsafe.settings import Settings

ONE_OCR_GREY_LEVEL = 1 / 127.5 + 1e-6


DOWNSCALE_MAX, DOWNSCALE_MEAN = 16.0, 0.5


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
