"""Known-content matching: the PDQ hash of every sampled frame, and a job's matches against its team's hash lists.

Why PDQ and vPDQ: they are what ThreatExchange, HMA and the industry's shared hash lists carry, PDQ for pictures
and vPDQ for videos; vPDQ is PDQ per frame, so the frames this job samples anyway are its features (one decode,
no second pass through the video as TMK or the vpdq package's own FFmpeg decoder would need). ``pdqhash`` is
Meta's PDQ reference code; vPDQ's matching is ThreatExchange's (frames of quality 50 or more, deduplicated,
a frame matching at distance 31 or less, the share of each side's frames that match).

Matching is a brute-force Hamming scan in numpy (XOR and popcount over the team's listed frames), exact at any
threshold; ``benchmarks/hash_matching.py`` measures it against the same scan in Postgres (bit_count) and
writes benchmarks/results/hash_matching.md.

A match is a finding of the known_content module labelled as the list labels the hash: per frame for a PDQ
entry, and one over the matched stretch for a vPDQ entry. Matches are made by the rules part (every list, once
the job's frames are all hashed) and by re-matching (one list, over the team's past jobs); either replaces the
findings of the lists it matched, so running it again changes nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

import numpy as np
import psycopg

from vidsafe.catalogue import Module
from vidsafe.db import findings as finding_store
from vidsafe.db import hash_lists, known_content
from vidsafe.domain.findings import Finding
from vidsafe.domain.hash_lists import SignalType
from vidsafe.hash_lists import PDQ_BITS, HashedFrame, ListedEntry
from vidsafe.settings import Settings

log = logging.getLogger(__name__)

# Distances of this many query x listed frames are computed at once (memory: 32 bytes each).
_PAIRS_PER_STEP = 2_000_000


def as_matrix(hashes: Iterable[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(-1, PDQ_BITS // 8)


def distances(query: np.ndarray, listed: np.ndarray) -> np.ndarray:
    """Hamming distances, (len(query), len(listed)), of two matrices of packed PDQ hashes (compared as four 64-bit
    words each: a quarter of the popcounts of comparing bytes)."""
    words_query = np.ascontiguousarray(query).view(np.uint64)
    words_listed = np.ascontiguousarray(listed).view(np.uint64)
    out = np.empty((len(query), len(listed)), dtype=np.uint16)
    step = max(1, _PAIRS_PER_STEP // max(1, len(listed)))
    for start in range(0, len(query), step):
        xor = np.bitwise_xor(words_query[start:start + step, None, :], words_listed[None, :, :])
        out[start:start + step] = np.bitwise_count(xor).sum(axis=2, dtype=np.uint16)
    return out


class HashIndex:
    """The listed frames of some entries, of quality enough to match, as one matrix."""

    def __init__(self, entries: list[ListedEntry], min_quality: int) -> None:
        self.entries = entries
        rows = [(position, frame) for position, entry in enumerate(entries) for frame in _usable(entry.frames,
                                                                                             min_quality)]
        self.owner = np.array([position for position, _ in rows], dtype=np.int64)
        self.matrix = as_matrix(frame.pdq for _, frame in rows)

    def __len__(self) -> int:
        return len(self.owner)

    @property
    def list_ids(self) -> list[UUID]:
        """The lists whose entries the index holds."""
        return list(dict.fromkeys(entry.list_id for entry in self.entries))

    def near(self, frames: list[HashedFrame], max_distance: int, min_quality: int) -> list[bool]:
        """Whether each frame is within ``max_distance`` of a listed frame (the frame loop keeps their
        thumbnails)."""
        usable = [f.quality >= min_quality for f in frames]
        if not len(self) or not any(usable):
            return [False] * len(frames)
        close = (distances(as_matrix(f.pdq for f in frames), self.matrix) <= max_distance).any(axis=1)
        return [bool(c) and u for c, u in zip(close, usable, strict=True)]


def _first_of_each_hash(frames: list[HashedFrame]) -> list[int]:
    """The positions, in order, of the first frame of each hash (vPDQ's dedupe)."""
    first: dict[bytes, int] = {}
    for position, frame in enumerate(frames):
        first.setdefault(frame.pdq, position)
    return list(first.values())


def _usable(frames: Iterable[HashedFrame], min_quality: int) -> list[HashedFrame]:
    """Frames of quality enough, each hash once (vPDQ's quality filter and dedupe)."""
    good = [frame for frame in frames if frame.quality >= min_quality]
    return [good[position] for position in _first_of_each_hash(good)]


@dataclass(frozen=True)
class JobFrame:
    frame_index: int
    hashed: HashedFrame


def _attributes(entry: ListedEntry, distance: int) -> dict:
    return {"list_id": str(entry.list_id), "list": entry.list_name, "entry_id": entry.id,
            "signal_type": str(entry.signal_type), "distance": distance}


def match_findings(frames: list[JobFrame], index: HashIndex, settings: Settings) -> list[Finding]:
    """The known_content findings of a job's hashed frames against ``index``."""
    usable = [f for f in frames if f.hashed.quality >= settings.pdq_min_quality]
    if not usable or not len(index):
        return []
    found = distances(as_matrix(f.hashed.pdq for f in usable), index.matrix)
    findings = []
    # PDQ entries: each frame's closest entry of each list within the threshold.
    best: dict[tuple[int, UUID], tuple[int, ListedEntry]] = {}
    for row, column in zip(*np.nonzero(found <= settings.pdq_match_distance), strict=True):
        entry = index.entries[index.owner[column]]
        if entry.signal_type != SignalType.pdq:
            continue
        key, distance = (int(row), entry.list_id), int(found[row, column])
        if key not in best or distance < best[key][0]:
            best[key] = (distance, entry)
    for (row, _), (distance, entry) in sorted(best.items(), key=lambda item: item[0][0]):
        frame = usable[row]
        findings.append(Finding(module=Module.known_content, label=entry.label, score=1 - distance / PDQ_BITS,
                                timestamp_s=frame.hashed.timestamp_s, frame_index=frame.frame_index,
                                attributes=_attributes(entry, distance)))
    # vPDQ entries: the share of the job's distinct frames found in the entry, and of the entry's in the job.
    query_rows = np.array(_first_of_each_hash([f.hashed for f in usable]), dtype=np.int64)
    columns_of: dict[int, list[int]] = defaultdict(list)
    for column, position in enumerate(index.owner):
        columns_of[int(position)].append(column)
    for position, columns in columns_of.items():
        entry = index.entries[position]
        if entry.signal_type != SignalType.vpdq:
            continue
        block = found[:, columns]  # every usable frame of the job against the entry's frames
        near = block <= settings.pdq_match_distance
        close = near[query_rows]  # the shares count each picture once
        query_percent = 100 * close.any(axis=1).mean()
        compared_percent = 100 * close.any(axis=0).mean()
        if max(query_percent, compared_percent) < settings.vpdq_match_percent:
            continue
        # The stretch spans every matching frame, repeats of a picture included.
        matched = [usable[r] for r in np.flatnonzero(near.any(axis=1))]
        first, last = min(matched, key=lambda f: f.hashed.timestamp_s), max(matched, key=lambda f: f.hashed.timestamp_s)
        distance = int(block.min())  # a repeated picture's rows equal its first's
        findings.append(Finding(
            module=Module.known_content, label=entry.label, score=max(query_percent, compared_percent) / 100,
            timestamp_s=first.hashed.timestamp_s, end_s=last.hashed.timestamp_s, frame_index=first.frame_index,
            attributes={**_attributes(entry, distance), "query_match_percent": round(float(query_percent), 1),
                        "compared_match_percent": round(float(compared_percent), 1)}))
    return findings


def team_index(conn: psycopg.Connection, team_id: UUID, settings: Settings,
               list_ids: list[UUID] | None = None) -> HashIndex:
    return HashIndex(hash_lists.listed_entries(conn, team_id, list_ids), settings.pdq_min_quality)


def match_job(conn: psycopg.Connection, job_id: UUID, index: HashIndex, list_ids: list[UUID],
              settings: Settings, part: tuple[str, int]) -> tuple[int, int]:
    """Replace the job's findings of ``list_ids`` by its matches against ``index`` (those lists' entries); how
    many findings it had of them, and has now."""
    frames = [JobFrame(index_, hashed) for index_, hashed in known_content.frame_hashes(conn, job_id)]
    findings = match_findings(frames, index, settings)
    removed = finding_store.replace_module_findings(conn, job_id, Module.known_content, findings, part,
                                                    only=("list_id", [str(i) for i in list_ids]))
    if findings:
        log.info("job %s: %d known-content matches (%s)", job_id, len(findings),
                 ", ".join(sorted({f"{f.attributes['list']}: {f.label}" for f in findings})))
    return removed, len(findings)
