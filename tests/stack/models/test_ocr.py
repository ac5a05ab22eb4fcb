"""The served ``ocr`` model against its reference, rapidocr-onnxruntime 1.4.4's ``RapidOCR()``, plus its configs,
batching, the worker stage and a job through the API.

The reference is called the way its users call it: with a BGR array (cv2 convention). The model takes RGB, so
each test frame is sent as RGB and handed to rapidocr reversed.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from rapidocr_onnxruntime import RapidOCR

from benchmarks.ocr_captions import STYLES, Style, draw
from tests.helpers.ocr import FRAMES, MODELS, NETWORKS, PLANTED, Line, spaces_added_to
from tests.helpers.support import run_job
from tests.helpers.triton import assert_batched, assert_refused, client_fixture, infer, infer_concurrently, statistics
from vidsafe.export.sample_video import SAMPLE_SCENES
from vidsafe.media.decoding import SampledFrame
from vidsafe.settings import Settings
from vidsafe.triton import TritonClient
from vidsafe.workers.ocr import LABEL, OcrStage

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


client = client_fixture(*MODELS)


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


def assert_matches(actual: list[Line], expected: list[Line], what: str) -> None:
    # The served model keeps word gaps that rapidocr's CTC decoding drops; otherwise the strings are the same.
    assert len(actual) == len(expected), (what, actual, expected)
    for (text, _, _), (reference_text, _, _) in zip(actual, expected, strict=True):
        assert spaces_added_to(text, reference_text), f"{what}: {text!r} vs {reference_text!r}"
    for (text, score, box), (_, expected_score, expected_box) in zip(actual, expected, strict=True):
        assert abs(score - expected_score) <= SCORE_TOLERANCE, f"{what}: {text!r} {score} vs {expected_score}"
        assert np.abs(box - expected_box).max() <= BOX_TOLERANCE_PX, f"{what}: {text!r} {box} vs {expected_box}"


# Parity with the reference


@pytest.mark.parametrize("name", list(FRAMES))
def test_single_frame_matches_reference(client, expected, name: str) -> None:
    (actual,) = served(client, FRAMES[name][None])
    assert_matches(actual, expected[name], name)


def test_several_frames_in_one_request_match_reference(client, expected) -> None:
    names = [name for name, frame in FRAMES.items() if frame.shape == (360, 640, 3)]
    assert len(names) >= 4
    results = served(client, np.stack([FRAMES[name] for name in names]))
    assert len(results) == len(names)
    for actual, name in zip(results, names, strict=True):
        assert_matches(actual, expected[name], f"{name} among {names}")


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


# Heavy display faces, as captions use them: the word-gap rule must keep their letters together and still split words
# (benchmarks/ocr_spaces.py measures every style at three sizes).
# On a busy picture the detector may cut a line into several boxes (read in its own order, a box's edge letter
# sometimes read twice), so the words are compared, not the lines.
HEAVY_STYLES = [style for style in STYLES if style.name in ("DejaVu Sans Bold", "Roboto Black + outline")]


@pytest.mark.parametrize("style", HEAVY_STYLES, ids=lambda style: style.name)
def test_bold_display_captions_keep_their_words_whole(client, style: Style) -> None:
    if not style.available:
        pytest.fail(f"{style.font} is missing: `vidsafe setup --fonts` installs the caption fonts")
    caption = "Claim your free gift card now"
    for size in (24, 40, 64):
        frame = draw(caption, style, size, style.looks[0], seed=7)[..., ::-1]  # drawn BGR, served RGB
        (lines,) = served(client, np.ascontiguousarray(frame)[None])
        words = [word for text, _, _ in lines for word in text.split()]
        assert sorted(words) == sorted(caption.split()), f"{size} px: {[text for text, _, _ in lines]}"


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


@pytest.mark.parametrize("network", list(NETWORKS))
def test_networks_compute_what_rapidocr_sessions_compute(client, engine, network: str) -> None:
    batch = _network_inputs(engine)[network]
    sessions = {"ocr_det": engine.text_det.infer, "ocr_cls": engine.text_cls.infer, "ocr_rec": engine.text_rec.session}
    (want,) = sessions[network](batch)
    input_name, output_name = NETWORKS[network]
    got = infer(client, network, {input_name: batch}, (output_name,))[output_name]
    np.testing.assert_allclose(got, want, rtol=0, atol=NETWORK_TOLERANCE)


# Batching


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
