"""The speech models' folders: both profiles."""

from __future__ import annotations

import pytest

from tests.helpers.model_configs import GPU_PROFILE, KIND_GPU, import_model, instance_kinds, load_config, load_profiles
from tests.helpers.speech import MODELS


@pytest.mark.parametrize("model", MODELS)
def test_both_profiles_run_the_python_model(model: str) -> None:
    assert [config.backend for config in load_profiles(model)] == ["python", "python"]


def test_gpu_profile_runs_whisper_on_the_gpu_with_the_same_decoding() -> None:
    cpu = load_config("speech_to_text").parameters
    gpu = load_config("speech_to_text", GPU_PROFILE)
    assert instance_kinds(gpu) == [KIND_GPU]
    assert gpu.parameters["compute_type"].string_value == "float16"
    assert {k: v.string_value for k, v in gpu.parameters.items() if k != "compute_type"} == \
        {k: v.string_value for k, v in cpu.items() if k != "compute_type"}


def test_a_rendering_that_loops_is_dropped() -> None:
    looping = import_model("speech_to_text").looping
    assert looping("Please, come on, " + "come on, " * 70)
    assert looping("I will not let you go, " * 10)
    assert not looping("Don't worry, I'll be back tomorrow. I'll be back soon. I'll check my bank cards now.")
    assert not looping("no no no")  # too short to tell
