"""The nudity models' folders: profiles, batch sizes, the ensemble's wiring, the labels in NudeNet's order."""

from __future__ import annotations

import pytest
from nudenet import nudenet as reference_module

from tests.helpers.model_configs import CPU_PROFILE, GPU_PROFILE, KIND_GPU, REPOSITORY, assert_served_by, load_config
from tests.helpers.nudity import MODELS, OUTPUTS

REFERENCE_LABELS = list(vars(reference_module)["__labels"])


def test_profiles_pick_the_intended_backends() -> None:
    # The cpu profile runs every step in the python backend, on the CPU (test_configs.py).
    assert_served_by(load_config("nudity_detector", GPU_PROFILE), "onnxruntime", KIND_GPU, "model.onnx")
    assert load_config("nudity_preprocess", GPU_PROFILE).backend == "dali"


def test_every_model_takes_16_frames() -> None:
    for model in MODELS:
        assert load_config(model).max_batch_size == 16, model


@pytest.mark.parametrize("profile", [CPU_PROFILE, GPU_PROFILE])
def test_ensemble_wiring_matches_its_steps(profile: str) -> None:
    ensemble = load_config("nudity", profile)
    assert ensemble.platform == "ensemble"
    produced = {t.name for t in ensemble.input}
    for step in ensemble.ensemble_scheduling.step:
        model = load_config(step.model_name, profile)
        assert model.max_batch_size == ensemble.max_batch_size
        assert set(step.input_map) == {t.name for t in model.input}
        assert set(step.output_map) == {t.name for t in model.output}
        assert set(step.input_map.values()) <= produced, f"{step.model_name} reads a tensor made later"
        produced |= set(step.output_map.values())
    assert {t.name for t in ensemble.output} == set(OUTPUTS) <= produced


def test_labels_are_the_reference_classes_in_output_order() -> None:
    labels = (REPOSITORY / "nudity_postprocess" / "labels.txt").read_text().split()
    assert labels == REFERENCE_LABELS
    detector = load_config("nudity_detector")
    assert list(detector.output[0].dims) == [4 + len(labels), 2100]
