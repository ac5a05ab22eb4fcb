"""Hash lists (vidsafe/hash_lists.py) and PDQ (vidsafe/media/hashing.py): ThreatExchange's hashes, the list formats."""

from __future__ import annotations

import csv
import io

import pytest
from skimage import data

from vidsafe.hash_lists import HashListError, parse_hash_list, vpdq_signal
from vidsafe.media.hashing import frame_hash


def test_pdq_is_threatexchanges() -> None:
    from threatexchange.signal_type.pdq import pdq_hasher

    for photo in (data.astronaut(), data.coffee(), data.chelsea()):
        expected_hex, expected_quality = pdq_hasher._pdq_from_numpy_array(photo)
        hashed = frame_hash(photo, 0.0)
        assert (hashed.pdq.hex(), hashed.quality) == (expected_hex, expected_quality)


def test_the_list_formats_are_read_and_other_signal_types_counted_not_dropped() -> None:
    pdq = frame_hash(data.astronaut(), 0.0).pdq.hex()
    video = vpdq_signal([frame_hash(data.coffee(), 0.0), frame_hash(data.chelsea(), 1.0)])
    exported = io.StringIO()  # as `threatexchange dataset -P --csv` writes it
    writer = csv.writer(exported)
    writer.writerows([["signal_type", "signal_str", "collab", "category", "tags"],
                      ["pdq", pdq, "Sample", "terrorism", "a b"], ["vpdq", video, "Sample", "csam", ""],
                      ["video_md5", "d41d8cd98f00b204e9800998ecf8427e", "Sample", "csam", ""]])
    parsed = parse_hash_list(exported.getvalue(), "known")
    assert [(e.signal_type, e.label, len(e.frames)) for e in parsed.entries] == [("pdq", "terrorism", 1),
                                                                                 ("vpdq", "csam", 2)]
    assert parsed.skipped == {"video_md5": 1}
    plain = parse_hash_list(f"hash,label\n{pdq.upper()},spam\n", "known")
    assert (plain.entries[0].signal, plain.entries[0].label) == (pdq, "spam")
    lines = parse_hash_list(f"pdq {pdq}\n# a comment\nurl https://example.com/x\n\n{pdq}\n", "listed")
    assert [e.label for e in lines.entries] == ["listed", "listed"] and lines.skipped == {"url": 1}
    for bad, line in ((f"hash,label\n{pdq},a\n{pdq[:-1]}x,b\n", "line 3"), (f"vpdq [\"{pdq},101,0\"]\n", "line 1"),
                      ("signal_type,signal\nvpdq,not json\n", "line 2")):
        with pytest.raises(HashListError, match=line):
            parse_hash_list(bad, "known")
    with pytest.raises(HashListError, match="no hashes"):
        parse_hash_list("hash,label\n", "known")


def test_a_csv_field_past_the_csv_modules_limit_is_a_refusal_naming_its_line() -> None:
    """Once a 500: the csv module's own error on a field over 128 KiB went unhandled."""
    text = "signal_type,hash,label\npdq,0000,ok\npdq," + "f" * (200 * 1024) + ",huge\n"
    with pytest.raises(HashListError, match="line 3"):
        parse_hash_list(text, "known_content", "csv")
