"""The OCR models' folders: profiles, request sizes, the catalogue entry; the test frames against the reference
engine."""

from __future__ import annotations

import json

import numpy as np

from tests.helpers.model_configs import GPU_PROFILE, KIND_GPU, REPOSITORY, assert_served_by, load_config
from tests.helpers.ocr import FRAMES, MODELS, NETWORKS, PLANTED, spaces_added_to
from vidsafe.catalogue import load_catalogue
from vidsafe.export.ocr import CHARACTERS_TARGET, read_characters


def test_upside_down_line_needs_the_angle_classifier(engine) -> None:
    """Without the classifier's 180-degree turn the line is misread: the upside-down frame exercises it."""
    result, _ = engine(np.ascontiguousarray(FRAMES["upside_down"][..., ::-1]), use_cls=False)
    assert [line[1] for line in result or []] != PLANTED["upside_down"]


def test_profiles_pick_the_intended_backends() -> None:
    # The cpu profile runs all four in the python backend, on the CPU (test_configs.py).
    assert load_config("ocr", GPU_PROFILE).backend == "python"
    for network, (input_name, output_name) in NETWORKS.items():
        gpu = load_config(network, GPU_PROFILE)
        assert_served_by(gpu, "onnxruntime", KIND_GPU, "model.onnx")
        # The onnxruntime backend binds tensors by the graph's own names.
        assert ([t.name for t in gpu.input], [t.name for t in gpu.output]) == ([input_name], [output_name])


def test_bls_request_sizes_follow_the_networks_configs() -> None:
    ocr = load_config("ocr")
    for network in NETWORKS:
        limit = int(ocr.parameters[f"{network.removeprefix('ocr_')}_max_batch"].string_value)
        assert limit == load_config(network).max_batch_size
    # A whole request of frames fits one detector run.
    assert ocr.max_batch_size <= load_config("ocr_det").max_batch_size


def test_catalogue_entry_serves_the_models_and_the_dictionary() -> None:
    entry = load_catalogue()["ocr"]
    assert entry.triton_models == MODELS and entry.calls == {"frames": "ocr"}
    assert {f.target for f in entry.files} == {f"{network}/1/model.onnx" for network in NETWORKS}
    assert CHARACTERS_TARGET in entry.served_files
    # The ocr model reads the recogniser's classes from the exported dictionary: blank, the characters, space.
    characters = json.loads((REPOSITORY / CHARACTERS_TARGET).read_text(encoding="utf-8"))
    assert characters == read_characters(str(REPOSITORY / "ocr_rec" / "1" / "model.onnx"))
    rec = load_config("ocr_rec")
    assert list(rec.output[0].dims) == [-1, len(characters) + 2]


def test_spaces_added_to_keeps_everything_else() -> None:
    assert spaces_added_to("Call 555 0142 now", "Call5550142now")
    assert spaces_added_to("Send the money", "Send themoney")
    assert not spaces_added_to("Sendthe money", "Send themoney")  # a reference space lost
    assert not spaces_added_to("Call 555 0142", "Call5550142now") and not spaces_added_to("Ca11", "Call")


def test_frames_exercise_what_they_are_meant_to(expected) -> None:
    # rapidocr itself drops word gaps on these two: they test the served model's restoring them.
    for name in ("digit_groups", "tight"):
        assert [line[0] for line in expected[name]] != PLANTED[name]
        assert [line[0].replace(" ", "") for line in expected[name]] == [t.replace(" ", "") for t in PLANTED[name]]
    assert [name for name, lines in expected.items() if len(lines) > 6] == ["dense"]
    assert [name for name, lines in expected.items() if not lines] == ["no_text"]
