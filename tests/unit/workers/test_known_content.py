"""Known-content matching (workers/known_content.py): an altered copy matches, unrelated content does not."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from tests.helpers.known_content import SETTINGS
from vidsafe.domain.hash_lists import SignalType
from vidsafe.hash_lists import HashedFrame, ListedEntry
from vidsafe.media.hashing import frame_hash, video_hashes
from vidsafe.workers.known_content import HashIndex, JobFrame, as_matrix, distances, match_findings


def _entry(kind: SignalType, frames: list[HashedFrame], label: str = "known") -> ListedEntry:
    return ListedEntry(1, uuid.uuid4(), "list", kind, label, tuple(frames))


def _job_frames(frames: list[HashedFrame]) -> list[JobFrame]:
    return [JobFrame(index, frame) for index, frame in enumerate(frames)]


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
