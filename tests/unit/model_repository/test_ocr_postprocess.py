"""The ocr model's own arithmetic (model_repository/ocr/1/model.py), run in-process: text regions found in a
detection probability map (DBPostProcess and RapidOCR's reading order), and the recogniser's batches of crops.
The served model is checked against RapidOCR end to end in tests/stack/models/test_ocr.py."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from tests.helpers.model_configs import import_model


@pytest.fixture(scope="module")
def ocr() -> ModuleType:
    return import_model("ocr")


def _params(ocr: ModuleType) -> object:
    # PP-OCR's defaults, as the model's config gives them.
    return ocr.Parameters(det_thresh=0.3, box_thresh=0.5, unclip_ratio=1.6, max_candidates=1000, cls_thresh=0.9,
                          text_score=0.5, space_prob=0.5)


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
