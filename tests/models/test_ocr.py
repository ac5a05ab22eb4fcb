"""The served ``ocr`` model against its reference, rapidocr-onnxruntime 1.4.4's ``RapidOCR()``, plus its configs,
batching, the worker stage and a job through the API.

The reference is called the way its users call it: with a BGR array (cv2 convention). The model takes RGB, so
each test frame is sent as RGB and handed to rapidocr reversed.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from rapidocr_onnxruntime import RapidOCR
from skimage import data

from tests.models.triton_helpers import (
    GPU_PROFILE,
    KIND_GPU,
    REPOSITORY,
    assert_batched,
    assert_refused,
    assert_served_by,
    client_fixture,
    infer,
    infer_concurrently,
    load_config,
    statistics,
)
from tests.support import run_job
from vidsafe.catalogue import load_catalogue
from vidsafe.export.ocr import CHARACTERS_TARGET, read_characters
from vidsafe.export.sample_video import SAMPLE_SCENES
from vidsafe.media.decoding import SampledFrame
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient
from vidsafe.workers.ocr import LABEL, OcrStage

MODELS = ("ocr", "ocr_det_preprocess", "ocr_det", "ocr_cls", "ocr_rec")
NETWORKS = {"ocr_det": ("x", "sigmoid_0.tmp_0"), "ocr_cls": ("x", "save_infer_model/scale_0.tmp_1"),
            "ocr_rec": ("x", "softmax_11.tmp_0")}
OUTPUTS = ("TEXTS", "SCORES", "POLYGONS", "COUNT")
# Same strings, exactly, in the same (reading) order. Run in one Python environment the two pipelines agree
# bit for bit; served, the model environment's OpenCV 4.11 (numpy<2) warps the line crops with cubic
# interpolation up to 4 grey levels away from the OpenCV 5 the reference runs on here, which moves the
# recogniser's confidences (measured: up to 0.024, on one line of the dense frame) but not the strings.
# Corners are measured identical; rapidocr's are whole pixels (rounded on the detector's map), so a
# probability a hair either side of the 0.3 threshold (ONNX Runtime batching) would move one by a pixel or two.
BOX_TOLERANCE_PX = 2.0
SCORE_TOLERANCE = 0.05
# raw network outputs (probabilities), served vs rapidocr's own session; ONNX Runtime's own spread over threads
# and graph optimisations is at most 3.5e-6 (benchmarks/results/numeric_spread.md)
NETWORK_TOLERANCE = 1e-4

Line = tuple[str, float, np.ndarray]  # text, score, [4, 2] corners
stack = pytest.mark.stack


def _text(image: np.ndarray, text: str, org: tuple[int, int], scale: float, colour: tuple[int, int, int],
          font: int = cv2.FONT_HERSHEY_SIMPLEX) -> np.ndarray:
    cv2.putText(image, text, org, font, scale, colour, 2, cv2.LINE_AA)
    return image


def _canvas(colour: tuple[int, int, int], height: int = 360, width: int = 640) -> np.ndarray:
    return np.full((height, width, 3), colour, np.uint8)


# Frames with text drawn by cv2, and what rapidocr reads in them (exactly the planted text).
PLANTED = {
    "plain": ["Quick brown fox jumps over the dog"],
    "photo": ["Limited offer ends tonight"],
    "multi_line": ["Breaking news from the coast", "Storm expected by Friday", "Stay indoors tonight"],
    "upside_down": ["Meet me at the station at noon"],
    # Word gaps the blank outscores the space in (rapidocr reads "Text0800123456", "Send themoneybyFridaynight"):
    # the served model keeps them from the recogniser's space probability (model.py's ctc_decode).
    "digit_groups": ["Text 0800 123 456"],
    "tight": ["Send the money by Friday night"],
}


def _frames() -> dict[str, np.ndarray]:
    coffee = data.coffee().copy()
    cv2.rectangle(coffee, (30, 320), (570, 380), (250, 250, 250), -1)
    multi = _canvas((40, 60, 120))
    for i, line in enumerate(PLANTED["multi_line"]):
        _text(multi, line, (30, 90 + 90 * i), 1.1, (255, 255, 255))
    # More lines than one recognition chunk (6), short and long, so chunks of several widths are formed.
    dense = _canvas((250, 245, 230), 540, 960)
    for i, line in enumerate(["Menu", "Soup of the day with fresh bread", "Tea", "Coffee 3 euro", "Cake",
                              "Sandwiches and salads all day long", "Open 8 to 18", "Closed on Sundays", "Wifi"]):
        _text(dense, line, (30 + 40 * (i % 3), 50 + 56 * i), 1.0, (30, 30, 30))
    upside = _text(_canvas((235, 235, 235)), PLANTED["upside_down"][0], (40, 190), 1.1, (20, 20, 20))
    return {
        "skimage_text": np.repeat(data.text()[..., None], 3, axis=2),
        # PP-OCR's word gaps are fragile on tight Hershey text: at 0.9 scale a longer line lost its spaces with
        # OpenCV 5.1's rendering and kept them with 5.0's; this one reads whole with OpenCV 4.11, 5.0 and 5.1.
        "plain": _text(_canvas((255, 255, 255)), PLANTED["plain"][0], (20, 190), 1.0, (0, 0, 0)),
        "photo": _text(coffee, PLANTED["photo"][0], (50, 362), 1.2, (20, 20, 20)),
        "photo_no_band": _text(data.astronaut().copy(), "WATCH THE LAUNCH LIVE", (40, 470), 1.2, (255, 255, 0),
                               cv2.FONT_HERSHEY_DUPLEX),
        "multi_line": multi,
        "digit_groups": _text(_canvas((255, 255, 255)), PLANTED["digit_groups"][0], (20, 190), 1.0, (0, 0, 0)),
        "tight": _text(_canvas((255, 255, 255)), PLANTED["tight"][0], (20, 190), 0.9, (0, 0, 0)),
        "dense": dense,
        "upside_down": np.ascontiguousarray(upside[::-1, ::-1]),
        # Short (black bands are added above and below) and scaled up to the minimum side.
        "banner_28px": _text(_canvas((255, 255, 255), 28, 320), "SALE 50 PERCENT", (8, 21), 0.6, (0, 0, 0)),
        "no_text": _canvas((90, 140, 60)),
    }


FRAMES = _frames()


client = client_fixture(*MODELS)


@pytest.fixture(scope="module")
def engine() -> RapidOCR:
    return RapidOCR()


@pytest.fixture(scope="module")
def expected(engine: RapidOCR) -> dict[str, list[Line]]:
    return {name: reference(engine, frame) for name, frame in FRAMES.items()}


def reference(engine: RapidOCR, rgb: np.ndarray) -> list[Line]:
    result, _ = engine(np.ascontiguousarray(rgb[..., ::-1]))
    return [(text, score, np.array(box, dtype=float)) for box, text, score in result or []]


def decode(outputs: dict[str, np.ndarray]) -> list[list[Line]]:
    """Per frame, its lines; also checks the padding contract of the rows past COUNT."""
    frames = []
    for i, count in enumerate(outputs["COUNT"][:, 0]):
        assert all(v == b"" for v in outputs["TEXTS"][i, count:])
        assert np.all(outputs["SCORES"][i, count:] == 0) and np.all(outputs["POLYGONS"][i, count:] == 0)
        frames.append([(outputs["TEXTS"][i, k].decode(), float(outputs["SCORES"][i, k]),
                        outputs["POLYGONS"][i, k].astype(float)) for k in range(count)])
    return frames


def served(client: grpcclient.InferenceServerClient, frames: np.ndarray) -> list[list[Line]]:
    return decode(infer(client, "ocr", {"IMAGE": frames}, OUTPUTS))


def spaces_added_to(text: str, reference: str) -> bool:
    """``text`` is ``reference`` with spaces added only: every character and space of the reference kept."""
    position = 0
    for character in text:
        if position < len(reference) and character == reference[position]:
            position += 1
        elif character != " ":
            return False
    return position == len(reference)


def assert_matches(actual: list[Line], expected: list[Line], what: str) -> None:
    # The served model keeps word gaps that rapidocr's CTC decoding drops; otherwise the strings are the same.
    assert len(actual) == len(expected), (what, actual, expected)
    for (text, _, _), (reference_text, _, _) in zip(actual, expected, strict=True):
        assert spaces_added_to(text, reference_text), f"{what}: {text!r} vs {reference_text!r}"
    for (text, score, box), (_, expected_score, expected_box) in zip(actual, expected, strict=True):
        assert abs(score - expected_score) <= SCORE_TOLERANCE, f"{what}: {text!r} {score} vs {expected_score}"
        assert np.abs(box - expected_box).max() <= BOX_TOLERANCE_PX, f"{what}: {text!r} {box} vs {expected_box}"


# Parity with the reference


@stack
@pytest.mark.parametrize("name", list(FRAMES))
def test_single_frame_matches_reference(client, expected, name: str) -> None:
    (actual,) = served(client, FRAMES[name][None])
    assert_matches(actual, expected[name], name)


@stack
def test_several_frames_in_one_request_match_reference(client, expected) -> None:
    names = [name for name, frame in FRAMES.items() if frame.shape == (360, 640, 3)]
    assert len(names) >= 4
    results = served(client, np.stack([FRAMES[name] for name in names]))
    assert len(results) == len(names)
    for actual, name in zip(results, names, strict=True):
        assert_matches(actual, expected[name], f"{name} among {names}")


@stack
@pytest.mark.parametrize("name", list(PLANTED))
def test_planted_text_is_read(client, name: str) -> None:
    (actual,) = served(client, FRAMES[name][None])
    assert [line[0] for line in actual] == PLANTED[name]
    assert all(0.5 <= line[1] <= 1 for line in actual)
    height, width = FRAMES[name].shape[:2]
    for _, _, corners in actual:
        assert np.all(corners >= 0) and np.all(corners[:, 0] <= width) and np.all(corners[:, 1] <= height)
        # tl, tr, br, bl
        assert corners[0, 0] < corners[1, 0] and corners[3, 0] < corners[2, 0]
        assert corners[0, 1] < corners[3, 1] and corners[1, 1] < corners[2, 1]


def test_upside_down_line_needs_the_angle_classifier(engine) -> None:
    """Without the classifier's 180-degree turn the line is misread: the upside-down frame exercises it."""
    result, _ = engine(np.ascontiguousarray(FRAMES["upside_down"][..., ::-1]), use_cls=False)
    assert [line[1] for line in result or []] != PLANTED["upside_down"]


@stack
def test_frame_without_text_has_no_lines(client) -> None:
    outputs = infer(client, "ocr", {"IMAGE": np.stack([FRAMES["no_text"], FRAMES["plain"]])}, OUTPUTS)
    assert outputs["COUNT"][:, 0].tolist() == [0, 1]
    assert outputs["TEXTS"].shape == (2, 1) and outputs["POLYGONS"].shape == (2, 1, 4, 2)
    assert served(client, FRAMES["no_text"][None]) == [[]]


def _network_inputs(engine: RapidOCR) -> dict[str, np.ndarray]:
    """Each network's input as rapidocr prepares it, from the multi-line frame."""
    bgr = np.ascontiguousarray(FRAMES["multi_line"][..., ::-1])
    boxes, _ = engine.text_det(bgr)
    crops = engine.get_crop_img_list(bgr, engine.sorted_boxes(boxes))
    rec = engine.text_rec
    max_ratio = max(320 / 48, *(crop.shape[1] / crop.shape[0] for crop in crops))
    return {
        "ocr_det": engine.text_det.get_preprocess(max(bgr.shape[:2]))(bgr),
        "ocr_cls": np.stack([engine.text_cls.resize_norm_img(crop) for crop in crops]),
        "ocr_rec": np.stack([rec.resize_norm_img(crop, max_ratio) for crop in crops]).astype(np.float32),
    }


@stack
@pytest.mark.parametrize("network", list(NETWORKS))
def test_networks_compute_what_rapidocr_sessions_compute(client, engine, network: str) -> None:
    batch = _network_inputs(engine)[network]
    sessions = {"ocr_det": engine.text_det.infer, "ocr_cls": engine.text_cls.infer, "ocr_rec": engine.text_rec.session}
    (want,) = sessions[network](batch)
    input_name, output_name = NETWORKS[network]
    got = infer(client, network, {input_name: batch}, (output_name,))[output_name]
    np.testing.assert_allclose(got, want, rtol=0, atol=NETWORK_TOLERANCE)


# Batching


@stack
def test_concurrent_requests_are_batched_and_answered_in_kind(client, expected) -> None:
    names = ["plain", "multi_line", "upside_down", "no_text"]
    before = statistics(client, "ocr")
    requests = 16
    results = infer_concurrently(client, "ocr", [{"IMAGE": FRAMES[names[k % len(names)]][None]}
                                                 for k in range(requests)], OUTPUTS, timeout_s=600)
    for index, outputs in enumerate(results):
        (actual,) = decode(outputs)
        # Batching concatenates and splits requests: each must get its own frame's lines back.
        name = names[index % len(names)]
        assert_matches(actual, expected[name], f"request {index} ({name})")
    assert_batched(client, "ocr", before, requests, "Triton's dynamic batcher combined requests")


# Bad input


@stack
@pytest.mark.parametrize(("shape", "message"), [
    ((1, 10, 10, 4), "unexpected shape"),
    ((17, 8, 8, 3), "batch-size must be <= 16"),
    ((1, 0, 0, 3), "must not be empty"),
    ((2, 0, 10, 3), "must not be empty"),
    ((1, 8, 4000, 3), "too elongated"),
])
def test_bad_input_is_refused_and_server_keeps_serving(client, expected, shape, message: str) -> None:
    assert_refused(lambda: served(client, np.zeros(shape, dtype=np.uint8)), message)
    (actual,) = served(client, FRAMES["plain"][None])
    assert_matches(actual, expected["plain"], "request after a refused one")


# The worker stage and a job


@stack
def test_stage_turns_frames_into_text_findings(running_stack: Settings) -> None:
    names = ["no_text", "plain", "multi_line", "upside_down"]
    frames = [SampledFrame(index=i, timestamp_s=0.5 * i, rgb=FRAMES[name]) for i, name in enumerate(names)]
    with TritonClient(running_stack.effective_triton_url) as triton:
        findings = OcrStage(triton, 0.5, running_stack).submit(frames)()
        strict = OcrStage(triton, 0.999, running_stack).submit(frames)()
    by_frame = {i: [f.text for f in findings if f.frame_index == i] for i in range(len(names))}
    assert by_frame == {i: PLANTED.get(name, []) for i, name in enumerate(names)}
    for finding in findings:
        assert finding.module == "ocr" and finding.label == LABEL and 0.5 <= finding.score <= 1
        assert finding.timestamp_s == 0.5 * finding.frame_index
        assert finding.polygon is not None and len(finding.polygon) == 4 and finding.box is not None
        xs, ys = [x for x, _ in finding.polygon], [y for _, y in finding.polygon]
        assert finding.box == (min(xs), min(ys), max(xs), max(ys))
        assert 0 <= finding.box[0] < finding.box[2] <= 640 and 0 <= finding.box[1] < finding.box[3] <= 360
    assert len(strict) < len(findings) and all(f.score >= 0.999 for f in strict)


@stack
def test_caption_of_the_sample_video_is_found_when_on_screen(api: httpx.Client, sample_video: Path) -> None:
    _, findings = run_job(api, sample_video, '{"modules": ["ocr"], "sample_fps": 1}')
    (scene,) = [s for s in SAMPLE_SCENES if s.caption]
    # PP-OCRv4 (like its reference) tends to drop the spaces between capitals: compare without them.
    captions = [f for f in findings if f["text"].replace(" ", "") == scene.caption.replace(" ", "")]
    # Sampled at 1 fps: once in each second of its scene, and nowhere else.
    assert len(captions) == 3 and all(scene.start_s <= f["timestamp_s"] < scene.end_s for f in captions), findings
    for finding in captions:
        assert finding["module"] == "ocr" and finding["label"] == LABEL and len(finding["polygon"]) == 4
        x1, y1, x2, y2 = finding["box"]
        assert 0 <= x1 < x2 <= 640 and 290 <= y1 < y2 <= 350, "inside the caption's white band"


# Configs and export (no server needed); tests/models/test_configs.py checks what every model's configs must say


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
