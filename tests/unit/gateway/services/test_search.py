"""Reciprocal rank fusion of the search by words and the search by meaning (gateway/services/search.py)."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from vidsafe.gateway.services.search import RRF_K, fuse


def _row(finding_id: int, job_id: UUID, text: str, module: str = "speech") -> dict:
    return {"id": finding_id, "job_id": job_id, "source_name": "talk.mp4", "module": module, "text": text,
            "timestamp_s": float(finding_id), "end_s": None}


def test_a_text_found_both_ways_outranks_texts_found_one_way() -> None:
    job = uuid4()
    hits = fuse({"words": [_row(1, job, "send me your bank details"), _row(2, job, "double your money")],
                 "meaning": [_row(3, job, "wire the cash today"), _row(2, job, "double your money")]})
    assert [hit.text for hit in hits] == ["double your money", "send me your bank details", "wire the cash today"]
    # 1/(k+2) twice; then two first places of one ranking each, the lower finding id first.
    assert [hit.score for hit in hits] == [round(2 / (RRF_K + 2), 6), round(1 / (RRF_K + 1), 6),
                                           round(1 / (RRF_K + 1), 6)]
    assert [hit.matched_by for hit in hits] == [["words", "meaning"], ["words"], ["meaning"]]
    assert [hit.finding_id for hit in hits] == [2, 1, 3]


def test_a_caption_seen_on_many_frames_is_one_hit_at_its_first_place() -> None:
    job = uuid4()
    hits = fuse({"words": [_row(5, job, "SALE", "ocr"), _row(6, job, "SALE", "ocr"), _row(7, job, "other", "ocr")]})
    assert [(hit.finding_id, hit.text) for hit in hits] == [(5, "SALE"), (7, "other")]
    assert hits[1].score == pytest.approx(1 / (RRF_K + 2), abs=1e-6), "a repeat takes no place in the ranking"


def test_the_same_text_in_another_job_or_module_is_another_hit() -> None:
    first, second = uuid4(), uuid4()
    hits = fuse({"words": [_row(1, first, "hello"), _row(2, second, "hello"), _row(3, first, "hello", "ocr")]})
    assert [(hit.job_id, hit.module) for hit in hits] == [(first, "speech"), (second, "speech"), (first, "ocr")]


def test_nothing_ranked_is_nothing_found() -> None:
    assert fuse({}) == [] and fuse({"words": [], "meaning": []}) == []
