"""The pose model's folder: its fixture images, profiles, outputs and catalogue entry."""

from __future__ import annotations

from tests.fixtures.pose.make_reference import sha256_of
from tests.helpers.model_configs import KIND_CPU, assert_served_by, load_config, load_profiles
from tests.helpers.pose import IMAGES, MODEL, NOBODY, PEOPLE, REFERENCE
from vidsafe.catalogue import load_catalogue
from vidsafe.workers.pose import PoseStage


def test_fixture_images_are_the_ones_mediapipe_saw() -> None:
    for name, image in IMAGES.items():
        record = REFERENCE[name]
        assert record["shape"] == list(image.shape) and record["sha256"] == sha256_of(image), \
            f"{name} changed: regenerate the fixtures with tests/fixtures/pose/make_reference.py"
    assert len(PEOPLE) >= 10 and len(NOBODY) >= 5, "both kinds of frames are exercised"


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
