"""The ocr model's own arithmetic (model_repository/ocr/1/model.py), run in-process: text regions found in a
detection probability map (DBPostProcess and RapidOCR's reading order), the recogniser's batches of crops, and the
spaces its CTC decoding puts between words. The served model is checked against RapidOCR end to end in
tests/stack/models/test_ocr.py."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import cv2
import numpy as np
import pytest
from google.protobuf import json_format
from rapidocr_onnxruntime import RapidOCR

from tests.helpers.model_configs import REPOSITORY, import_model, load_config
from tests.helpers.ocr import FRAMES, PLANTED


@pytest.fixture(scope="module")
def ocr() -> ModuleType:
    return import_model("ocr")


def _params(ocr: ModuleType) -> object:
    # PP-OCR's defaults, as the model's config gives them.
    return ocr.Parameters(det_thresh=0.3, box_thresh=0.5, unclip_ratio=1.6, max_candidates=1000, cls_thresh=0.9,
                          text_score=0.5, space_prob=0.5, space_ratio=0.0)


def _crops(*widths: int) -> list[np.ndarray]:
    return [np.zeros((48, width, 3), np.uint8) for width in widths]


def test_crops_go_six_at_a_time_by_aspect_ratio_each_chunk_as_wide_as_its_widest(ocr: ModuleType) -> None:
    chunks = ocr.rec_chunks(_crops(96, 480, 200, 48, 1000, 300, 150, 600))
    # Ratios 2, 10, 4.2, 1, 20.8, 6.25, 3.1, 12.5: the six narrowest first, padded to the widest of them.
    assert chunks == [(480, [3, 0, 6, 2, 5, 1]), (1000, [7, 4])]
    assert ocr.rec_chunks(_crops(48, 96)) == [(320, [0, 1])], "never narrower than the recogniser's 320"
    assert ocr.rec_chunks([]) == []


def test_a_tall_crop_is_as_wide_as_its_ratio_at_the_line_height(ocr: ModuleType) -> None:
    (width, members), = ocr.rec_chunks([np.zeros((24, 480, 3), np.uint8)])  # ratio 20
    assert (width, members) == (960, [0])


def _probability_map() -> np.ndarray:
    """A 100 x 200 map of a 200 x 400 image: two words on one line, one below, and a speck."""
    pred = np.zeros((100, 200), np.float32)
    pred[20:30, 110:170] = 0.9  # the line's second word
    pred[21:31, 20:80] = 0.9  # its first word, a pixel lower: still the same line
    pred[60:75, 40:160] = 0.8  # the next line
    pred[90:92, 190:192] = 0.95  # a speck: under the smallest box side
    return pred


def test_regions_are_found_grown_back_scaled_to_the_image_and_read_in_order(ocr: ModuleType) -> None:
    boxes = ocr.find_boxes(_probability_map(), 200, 400, _params(ocr))
    # Reading order: the first line left to right (their tops 1 px apart), then the next line.
    regions = [(110, 20, 170, 30), (20, 21, 80, 31), (40, 60, 160, 75)]  # map pixels, x1 y1 x2 y2
    expected_order = [regions[1], regions[0], regions[2]]
    assert len(boxes) == 3
    for box, (x1, y1, x2, y2) in zip(boxes, expected_order, strict=True):
        # Dilated by a pixel, then grown back by area x unclip_ratio / perimeter (DB learns shrunk regions), and
        # scaled from the map to the image (x2): tl, tr, br, bl in the image's pixels.
        width, height = x2 - x1 + 1, y2 - y1 + 1
        grow = width * height * 1.6 / (2 * (width + height))
        outline = np.array([[x1 - grow, y1 - grow], [x1 + width + grow, y1 - grow],
                            [x1 + width + grow, y1 + height + grow], [x1 - grow, y1 + height + grow]]) * 2
        np.testing.assert_allclose(box, outline, atol=4)


def test_faint_regions_and_too_many_candidates_are_dropped(ocr: ModuleType) -> None:
    faint = np.zeros((100, 200), np.float32)
    faint[20:40, 20:120] = 0.4  # over det_thresh, but its mean is under box_thresh
    assert ocr.find_boxes(faint, 200, 400, _params(ocr)) == []
    few = ocr.Parameters(**{**vars(_params(ocr)), "max_candidates": 1})
    assert len(ocr.find_boxes(_probability_map(), 200, 400, few)) <= 1


# CTC decoding: the recogniser's classes are the blank, the characters, and the space last.
CHARACTERS = ["blank", *"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", " "]


def _recognised(text: str, peaks: list[float]) -> np.ndarray:
    """A line's recogniser output: a step per character of ``text`` (a space too) where its class has 0.9, and
    between each two a step where the space class has that gap's peak and the blank the rest."""
    assert len(peaks) == len(text) - 1
    steps = []
    for k, character in enumerate(text):
        if k:
            gap = np.zeros(len(CHARACTERS), np.float32)
            gap[0], gap[-1] = 1 - peaks[k - 1], peaks[k - 1]
            steps.append(gap)
        step = np.full(len(CHARACTERS), 0.1 / (len(CHARACTERS) - 1), np.float32)
        step[CHARACTERS.index(character)] = 0.9
        steps.append(step)
    return np.array(steps)


def _decoded(ocr: ModuleType, probs: np.ndarray, space_prob: float, space_ratio: float = 0.0) -> str:
    return ocr.ctc_decode(probs, CHARACTERS, space_prob, space_ratio)[0]


def _served(ocr: ModuleType, probs: np.ndarray) -> str:
    """``probs`` decoded with the served config's parameters."""
    parameters = load_config("ocr").parameters
    return _decoded(ocr, probs, float(parameters["space_prob"].string_value),
                    float(parameters["space_ratio"].string_value))


PREVIOUS_RULE = 0.0015  # the space class's peak against this threshold alone

# Lines as the recogniser saw them: their characters, and the space class's peak in each gap.
# "Text 0800 123 456" in a tight font (a test frame of tests/helpers/ocr.py): the blank outscores the space in
# every word gap, which CTC then drops.
DIGIT_GROUPS = ("Text0800123456", [9.6e-6, 2.7e-5, 4.4e-5, 0.041, 1.3e-5, 2.2e-5, 1.7e-5, 0.038, 1.2e-5, 6.4e-6,
                                   0.047, 6.8e-5, 1.5e-5])
# "WATCH THE LAUNCH LIVE" in heavy capitals on a photo (a test frame too): the space class is raised between all
# the letters, over 0.0015 between L and A. The space before LIVE is CTC's own (the space class wins a step).
HEAVY_CAPITALS = ("WATCHTHELAUNCH LIVE", [4.8e-5, 2.7e-4, 6.8e-4, 1.7e-4, 0.15, 1.6e-4, 1.1e-4, 0.09, 1.6e-3, 2e-4,
                                          3e-4, 3.7e-4, 2.3e-4, 0.13, 0.098, 1.7e-4, 5.7e-4, 2.7e-4])
# "CITY OFFICE NIGHT MOUNTAIN" in Liberation Sans Bold with a black outline, 24 px, as benchmarks/ocr_captions.py
# draws captions: 0.0039 and 0.0058 between the letters of NIGHT.
OUTLINED = ("CITYOFFICENIGHTMOUNTAIN",
            [1.85e-4, 1.57e-4, 2.6e-4, 0.372, 5.81e-4, 4.16e-4, 6.8e-4, 5.34e-4, 2.45e-4, 0.117, 9.9e-5, 3.944e-3,
             5.842e-3, 3.17e-4, 0.231, 3.85e-4, 1.408e-3, 3.47e-4, 3.08e-4, 3.75e-4, 7.38e-4, 6.4e-5])


def test_word_gaps_ctc_drops_get_their_space_back(ocr: ModuleType) -> None:
    probs = _recognised(*DIGIT_GROUPS)
    assert _decoded(ocr, probs, 1.0) == "Text0800123456", "CTCLabelDecode's own reading"
    assert _served(ocr, probs) == "Text 0800 123 456"


@pytest.mark.parametrize(("line", "words", "split_before"), [
    (HEAVY_CAPITALS, "WATCH THE LAUNCH LIVE", "WATCH THE L AUNCH LIVE"),
    (OUTLINED, "CITY OFFICE NIGHT MOUNTAIN", "CITY OFFICE NI G HT MOUNTAIN"),
])
def test_a_heavy_lines_words_stay_whole(ocr: ModuleType, line: tuple[str, list[float]], words: str,
                                        split_before: str) -> None:
    probs = _recognised(*line)
    assert _served(ocr, probs) == words
    assert _decoded(ocr, probs, PREVIOUS_RULE) == split_before


def test_a_gap_needs_the_threshold_and_the_ratio_to_the_lines_typical_gap(ocr: ModuleType) -> None:
    # The typical gap's peak (the lower median of four): 1e-4. The third gap's 0.02 is 200 times that.
    probs = _recognised("abcde", [1e-4, 1e-4, 0.02, 2e-4])
    assert _decoded(ocr, probs, 0.01, 100) == "abc de"
    assert _decoded(ocr, probs, 0.01, 300) == "abcde", "under 300 times the typical gap"
    assert _decoded(ocr, probs, 0.03, 100) == "abcde", "under the threshold"
    # A line of one gap has no typical gap: the threshold alone decides.
    assert _decoded(ocr, _recognised("ab", [0.02]), 0.01, 100) == "a b"


def test_spaces_ctc_reads_are_kept_and_added_ones_add_no_confidence(ocr: ModuleType) -> None:
    text, score = ocr.ctc_decode(_recognised("ab cd", [0.0, 0.0, 0.0, 0.4]), CHARACTERS, 0.01, 10.0)
    assert text == "ab c d"
    assert score == pytest.approx(0.9), "the mean of the five characters read, the space CTC read among them"


@pytest.fixture
def in_process(ocr: ModuleType, engine: RapidOCR, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The ocr model initialised from its cpu config, run in-process: rapidocr's own ONNX sessions answer its calls
    to the networks Triton serves."""
    sessions = {"ocr_det": engine.text_det.infer, "ocr_cls": engine.text_cls.infer, "ocr_rec": engine.text_rec.session}
    monkeypatch.setattr(ocr, "infer", lambda name, inputs, outputs: {outputs[0]: sessions[name](*inputs.values())[0]})
    threads = cv2.getNumThreads()  # the model sets its own
    model = ocr.TritonPythonModel()
    config = json_format.MessageToJson(load_config("ocr"), preserving_proto_field_name=True)
    model.initialize({"model_config": config, "model_repository": str(REPOSITORY / "ocr"), "model_version": "1"})
    yield model
    cv2.setNumThreads(threads)


# What the test frames read, every word whole; the heavy capitals were read "WATCH THE L AUNCH LIVE" before.
WHOLE = {**PLANTED, "photo_no_band": ["WATCH THE LAUNCH LIVE"]}


@pytest.mark.parametrize("name", list(WHOLE))
def test_the_served_parameters_read_the_test_frames_words_whole(ocr: ModuleType, in_process, name: str) -> None:
    frames = [ocr.prepare(FRAMES[name])]
    in_process.detect(frames)
    in_process.turn_upside_down_lines(frames)
    in_process.recognise(frames)
    assert [text for text, score in frames[0].lines if score >= in_process.params.text_score] == WHOLE[name]
