"""Known-content matching: PDQ as ThreatExchange computes it, the list formats, matches that survive a re-encode,
a rescale and a slight crop, a measured false-match rate on unrelated generated content, and through the stack:
a job matched against its team's lists (a finding that raises its risk), a newly imported list re-matched against
past jobs in the background, bad imports refused, and the lists kept within their team."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import httpx
import numpy as np
import pytest
from skimage import data

from tests.support import make_team, run_job, wait_until
from vidsafe.domain.hash_lists import SignalType
from vidsafe.export.sample_video import Scene, make_sample_video
from vidsafe.hash_lists import HashedFrame, HashListError, ListedEntry, parse_hash_list, vpdq_signal
from vidsafe.media.hashing import frame_hash, video_hashes
from vidsafe.settings import Settings
from vidsafe.workers.known_content import HashIndex, JobFrame, as_matrix, distances, match_findings

SETTINGS = Settings()
UNRELATED_SCENES = (Scene("rocket", 0.0, 3.0), Scene("camera", 3.0, 6.0), Scene("clock", 6.0, 9.0),
                    Scene("hubble_deep_field", 9.0, 12.0, zoom_per_s=0.05))


def transcode(source: Path, target: Path, scale: float = 1.0, crop: float = 0.0, crf: int = 23) -> Path:
    """``source`` re-encoded (H.264 at ``crf``), cropped by ``crop`` of each side and scaled by ``scale``."""
    with av.open(str(source)) as given, av.open(str(target), "w") as written:
        stream = given.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        dx, dy = round(width * crop), round(height * crop)
        size = (round((width - 2 * dx) * scale) // 2 * 2, round((height - 2 * dy) * scale) // 2 * 2)
        encoded = written.add_stream("libx264", rate=stream.average_rate)
        encoded.width, encoded.height, encoded.pix_fmt = *size, "yuv420p"
        encoded.options = {"crf": str(crf), "preset": "ultrafast"}
        for frame in given.decode(stream):
            rgb = cv2.resize(frame.to_ndarray(format="rgb24")[dy:height - dy, dx:width - dx], size,
                             interpolation=cv2.INTER_AREA)
            written.mux(encoded.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        written.mux(encoded.encode())
    return target


@pytest.fixture(scope="module")
def altered(sample_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample as someone re-uploading it might: re-encoded at a lower quality, 60% of its size, 0.5% cropped
    from each side (PDQ is not made for crops: at 1% a frame of the captioned scene drifts 34-36 bits away,
    past the match distance of 31; here the farthest is 22)."""
    return transcode(sample_video, tmp_path_factory.mktemp("altered") / "altered.mp4", scale=0.6, crop=0.005, crf=30)


@pytest.fixture(scope="module")
def unrelated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sample_video(tmp_path_factory.mktemp("unrelated") / "unrelated.mp4", UNRELATED_SCENES, speech=())


def _entry(kind: SignalType, frames: list[HashedFrame], label: str = "known") -> ListedEntry:
    return ListedEntry(1, uuid.uuid4(), "list", kind, label, tuple(frames))


def _job_frames(frames: list[HashedFrame]) -> list[JobFrame]:
    return [JobFrame(index, frame) for index, frame in enumerate(frames)]


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


def test_an_altered_copy_matches_and_an_unrelated_video_does_not(sample_video: Path, altered: Path,
                                                                 unrelated: Path) -> None:
    listed = video_hashes(sample_video, SETTINGS)  # 1 frame a second, vPDQ's default
    job = video_hashes(altered, SETTINGS, SETTINGS.sample_fps)  # as a job samples it
    index = HashIndex([_entry(SignalType.vpdq, listed)], SETTINGS.pdq_min_quality)
    [match] = match_findings(_job_frames(job), index, SETTINGS)
    assert match.attributes["compared_match_percent"] >= 90, match.attributes
    assert match.end_s is not None and match.end_s - match.timestamp_s >= 11, "the stretch spans the repeats too"
    # A listed frame (PDQ) matches the copy's frames of the same picture: the astronaut, shown at 3-6 s and 9-12 s.
    photo_index = HashIndex([_entry(SignalType.pdq, [listed[4]])], SETTINGS.pdq_min_quality)
    frames = match_findings(_job_frames(job), photo_index, SETTINGS)
    assert {f.timestamp_s // 3 for f in frames} == {1, 3}, [f.timestamp_s for f in frames]
    assert not match_findings(_job_frames(video_hashes(unrelated, SETTINGS, 2.0)), index, SETTINGS)


def _generated_pictures(count: int) -> Iterator[np.ndarray]:
    """Unrelated pictures: other photos than the sample's, then random shapes, gradients and text over noise."""
    rng = np.random.default_rng(7)
    photos = [data.rocket(), data.camera(), data.clock(), data.hubble_deep_field(), data.retina(), data.cat()]
    for n in range(count):
        if n < len(photos):
            yield np.ascontiguousarray(np.dstack([photos[n]] * 3) if photos[n].ndim == 2 else photos[n][..., :3])
            continue
        image = (rng.random((360, 640, 3)) * 40 + np.linspace(0, 180, 640)[None, :, None]).astype(np.uint8)
        for _ in range(6):
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            centre = (int(rng.integers(0, 640)), int(rng.integers(0, 360)))
            cv2.circle(image, centre, int(rng.integers(10, 120)), colour, -1)
            cv2.putText(image, f"{rng.integers(1e6)}", centre, cv2.FONT_HERSHEY_SIMPLEX, 1.5, colour, 3)
        yield image


def test_the_false_match_rate_on_unrelated_content_is_measured_and_nil(sample_video: Path) -> None:
    """Every pair of 300 generated pictures and the sample's frames, and the pictures among themselves: the share
    of pairs within the match distance (PDQ's published false-positive rate at 31 is about 1e-4 on photos)."""
    listed = video_hashes(sample_video, SETTINGS, 2.0)
    pictures = [frame_hash(p, 0.0) for p in _generated_pictures(300)]
    usable = [p for p in pictures if p.quality >= SETTINGS.pdq_min_quality]
    assert len(usable) >= 250
    against_sample = distances(as_matrix(p.pdq for p in usable), as_matrix(f.pdq for f in listed))
    among = distances(as_matrix(p.pdq for p in usable), as_matrix(p.pdq for p in usable))
    pairs = against_sample.size + len(usable) * (len(usable) - 1) // 2
    false_matches = int((against_sample <= SETTINGS.pdq_match_distance).sum()
                        + np.triu(among <= SETTINGS.pdq_match_distance, k=1).sum())
    print(f"false matches: {false_matches} of {pairs} pairs; closest unrelated pair: "
          f"{min(int(against_sample.min()), int(among[np.triu_indices(len(usable), 1)].min()))} bits")
    assert false_matches / pairs <= 1e-4


# ---- through the stack ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moderators(running_stack: Settings, api: httpx.Client) -> Iterator[httpx.Client]:
    keys = make_team(running_stack, api, "hash-matchers", {"lead": ["submit", "review"]})
    with keys.client("lead") as client:
        yield client


def _import(client: httpx.Client, name: str, content: str, list_format: str = "auto") -> dict:
    created = client.post("/v1/hash-lists", json={"name": name, "default_label": "known_video"})
    assert created.status_code == 201, created.text
    imported = client.post(f"/v1/hash-lists/{created.json()['id']}/imports", content=content.encode(),
                           params={"format": list_format}, headers={"Content-Type": "text/csv"})
    assert imported.status_code == 202, imported.text
    return imported.json()


def _suggested(client: httpx.Client, job_id: str) -> str:
    return client.get(f"/v1/jobs/{job_id}/summary").json()["summary"]["suggested_action"]


def _risk(client: httpx.Client, job_id: str) -> float:
    return client.get(f"/v1/jobs/{job_id}").json()["risk"]


def test_a_job_matches_its_teams_list_and_a_new_list_is_matched_against_past_jobs(
        moderators: httpx.Client, api: httpx.Client, sample_video: Path, altered: Path, unrelated: Path) -> None:
    listed = video_hashes(sample_video, SETTINGS)
    csv_rows = f"signal_type,signal,label\nvpdq,\"{vpdq_signal(listed).replace(chr(34), chr(34) * 2)}\",sample_clip\n"
    result = _import(moderators, "known-videos", csv_rows)
    assert (result["added"], result["skipped"]) == (1, {})
    job, findings = run_job(moderators, altered, module="known_content")
    [match] = findings
    assert (match["label"], match["attributes"]["list"], match["attributes"]["signal_type"]) == (
        "sample_clip", "known-videos", "vpdq")
    assert match["attributes"]["distance"] <= SETTINGS.pdq_match_distance and match["score"] >= 0.8
    assert _risk(moderators, job["id"]) >= 0.8
    assert any(r["module"] == "known_content" for r in moderators.get(f"/v1/jobs/{job['id']}").json()["risk_reasons"])
    thumbnail = moderators.get(f"/v1/jobs/{job['id']}/thumbnails/{match['frame_index']}")
    assert thumbnail.status_code == 200, "the matched frame's thumbnail was written while it was decoded"

    # A past job, then a list of one of its pictures: re-matched in the background, its risk raised.
    past, before = run_job(moderators, unrelated, module="known_content")
    assert not before and _risk(moderators, past["id"]) < 0.5
    rocket = frame_hash(_frame_of(unrelated, 1.0), 0.0).pdq.hex()
    second = _import(moderators, "known-pictures", f"pdq {rocket}\n", "lines")["list"]
    wait_until(lambda: moderators.get(f"/v1/hash-lists/{second['id']}").json()["rematch_state"] == "done",
               "re-matching the new list", timeout_s=60)
    done = moderators.get(f"/v1/hash-lists/{second['id']}").json()
    assert done["rematched_jobs"] >= 2 and done["matched_jobs"] >= 1, done
    rematched = moderators.get(f"/v1/jobs/{past['id']}/findings", params={"module": "known_content"}).json()
    assert rematched["findings"] and {f["label"] for f in rematched["findings"]} == {"known_video"}
    assert all(0.0 <= f["timestamp_s"] < 3.0 for f in rematched["findings"])
    assert _risk(moderators, past["id"]) >= 0.8
    assert _suggested(moderators, past["id"]) == "remove", "its summary is made again"

    # Removing the list takes its matches off the past job again.
    assert moderators.delete(f"/v1/hash-lists/{second['id']}").status_code == 204
    wait_until(lambda: not moderators.get(f"/v1/jobs/{past['id']}/findings",
                                          params={"module": "known_content"}).json()["findings"],
               "the removed list's matches leaving the job", timeout_s=60)
    wait_until(lambda: _risk(moderators, past["id"]) < 0.5 and _suggested(moderators, past["id"]) != "remove",
               "the risk and the summary made again", timeout_s=30)
    # Another team sees neither the lists nor their matches.
    assert api.get(f"/v1/hash-lists/{result['list']['id']}").status_code == 404
    assert all(found["name"] != "known-videos" for found in api.get("/v1/hash-lists").json())


def _frame_of(video: Path, at_s: float) -> np.ndarray:
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= at_s:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"no frame at {at_s} s")


def test_bad_imports_are_refused_with_the_line_and_lose_nothing(moderators: httpx.Client) -> None:
    created = moderators.post("/v1/hash-lists", json={"name": "careful"}).json()
    url = f"/v1/hash-lists/{created['id']}/imports"
    for body, code in ((b"hash,label\nnot-a-hash,x\n", "line 2"), (b"\xff\xfe\x00", "UTF-8"), (b"", "no hashes")):
        refused = moderators.post(url, content=body, headers={"Content-Type": "text/csv"})
        assert refused.status_code == 422 and refused.json()["detail"]["code"] == "invalid_hash_list", refused.text
        assert code in refused.json()["detail"]["message"]
    assert moderators.get(f"/v1/hash-lists/{created['id']}").json()["entries"] == 0
    assert moderators.post("/v1/hash-lists", json={"name": "careful"}).json()["detail"]["code"] == \
        "hash_list_name_taken"
    assert moderators.post(f"/v1/hash-lists/{uuid.uuid4()}/imports", content=b"x").json()["detail"]["code"] == \
        "hash_list_not_found"


def test_a_video_hashed_and_imported_through_the_cli_matches_its_copy(
        running_stack: Settings, moderators: httpx.Client, sample_video: Path, altered: Path, tmp_path: Path) -> None:
    """`vidsafe hash-lists video --label` writes a CSV row that `vidsafe hash-lists import` reads (the operator's key
    acting for the team); the team's next job of a copy matches it."""
    env = {"PATH": "/usr/bin:/bin", **running_stack.to_env(), "COLUMNS": "200", "VIDSAFE_TEAM": "hash-matchers"}
    cli = [sys.executable, "-m", "vidsafe.cli", "hash-lists"]
    row = subprocess.run([*cli, "video", str(sample_video), "--label", "cli_clip"], env=env, check=True,
                         capture_output=True, text=True).stdout
    [entry] = parse_hash_list(row, "known").entries
    assert (entry.signal_type, entry.label, len(entry.frames)) == ("vpdq", "cli_clip", 12)
    (tmp_path / "row.csv").write_text(row)
    imported = subprocess.run([*cli, "import", "cli-videos", str(tmp_path / "row.csv")], env=env, check=True,
                              capture_output=True, text=True)
    assert "1 added" in imported.stderr, imported.stderr
    listed = subprocess.run([*cli, "list"], env=env, check=True, capture_output=True, text=True).stdout
    assert re.search(r"cli-videos\W+1\W", listed), listed
    _, findings = run_job(moderators, altered, module="known_content")
    assert ("cli_clip", "cli-videos") in [(f["label"], f["attributes"]["list"]) for f in findings]
    subprocess.run([*cli, "delete", "cli-videos"], env=env, check=True, capture_output=True)
    assert "cli-videos" not in subprocess.run([*cli, "list"], env=env, check=True, capture_output=True,
                                              text=True).stdout
