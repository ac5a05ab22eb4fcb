"""Hash lists: the signals of known content as ThreatExchange and Hasher-Matcher-Actioner (HMA) write them, read
into entries the workers match (``workers/known_content.py``).

Signals are PDQ (one picture, 64 hex digits) and vPDQ (one video: ThreatExchange's ``VPDQSignal`` string, a JSON
list of ``"<pdq hex>,<quality>,<seconds>"``, one per hashed frame). Three file formats are read:

- ``threatexchange-csv``: ``threatexchange dataset -P --csv`` (columns signal_type, signal_str, collab, category,
  tags); the label is the category.
- ``csv``: a header naming a hash column (``hash``, ``signal`` or ``signal_str``), and optionally ``label`` (or
  ``category``) and ``signal_type`` (else told apart by shape: 64 hex digits are PDQ, a JSON list vPDQ).
- ``lines``: ThreatExchange's and HMA's local signal files, one ``<signal_type> <signal>`` per line (or a bare
  signal), every row under the list's default label.

Rows of other signal types (md5, url, raw_text, ...) are counted as skipped, never silently dropped; a malformed
PDQ or vPDQ row refuses the whole file, naming its line.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal
from uuid import UUID

from vidsafe.domain.hash_lists import SignalType

PDQ_BITS = 256
PDQ_BYTES = PDQ_BITS // 8
_PDQ_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
HASH_COLUMNS = ("signal_str", "hash", "signal")
LABEL_COLUMNS = ("label", "category")
ListFormat = Literal["auto", "threatexchange-csv", "csv", "lines"]


class HashListError(ValueError):
    """A file that is not a hash list, or a row that is not a valid signal (the message names the line)."""


@dataclass(frozen=True)
class HashedFrame:
    """One hashed picture: a frame of a video, or a photo (timestamp 0)."""

    pdq: bytes  # 32 bytes, the hash's first bit the first byte's highest
    quality: int  # PDQ's 0-100: flat, featureless pictures score low and match nothing
    timestamp_s: float = 0.0


@dataclass(frozen=True)
class HashEntry:
    signal_type: SignalType
    signal: str  # as imported, normalised (lower-case hex)
    label: str
    frames: tuple[HashedFrame, ...]


@dataclass(frozen=True)
class ListedEntry:
    """An entry as the workers match it: with its list."""

    id: int
    list_id: UUID
    list_name: str
    signal_type: SignalType
    label: str
    frames: tuple[HashedFrame, ...]


@dataclass
class ParsedList:
    entries: list[HashEntry] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def pdq_from_hex(text: str) -> bytes:
    if not _PDQ_HEX.match(text):
        raise ValueError(f"a PDQ hash is 64 hex digits, not {text[:80]!r}")
    return bytes.fromhex(text)


def vpdq_signal(frames: list[HashedFrame]) -> str:
    """ThreatExchange's VPDQSignal string of a video's hashed frames."""
    return json.dumps([f"{f.pdq.hex()},{f.quality},{f.timestamp_s:.3f}" for f in frames])


def vpdq_frames(signal: str) -> tuple[HashedFrame, ...]:
    try:
        items = json.loads(signal)
    except json.JSONDecodeError as error:
        raise ValueError(f"a vPDQ signal is a JSON list: {error}") from None
    if not isinstance(items, list) or not items:
        raise ValueError("a vPDQ signal is a non-empty JSON list of 'pdq,quality,timestamp' strings")
    frames = []
    for item in items:
        parts = item.split(",") if isinstance(item, str) else []
        if len(parts) != 3:
            raise ValueError(f"a vPDQ frame is 'pdq,quality,timestamp', not {str(item)[:80]!r}")
        try:
            quality, timestamp = int(parts[1]), float(parts[2])
        except ValueError:
            raise ValueError(f"a vPDQ frame's quality and timestamp are numbers: {item[:80]!r}") from None
        if not 0 <= quality <= 100 or not 0 <= timestamp < 1e7:
            raise ValueError(f"a vPDQ frame's quality is 0-100 and its timestamp positive: {item[:80]!r}")
        frames.append(HashedFrame(pdq_from_hex(parts[0]), quality, timestamp))
    return tuple(frames)


def _signal_type(name: str | None, signal: str) -> SignalType | str:
    """The row's signal type: its own column's (ThreatExchange's names), or told apart by the signal's shape."""
    if name:
        name = name.strip().lower()
        return SignalType(name) if name in SignalType.__members__ else name
    return SignalType.vpdq if signal.startswith("[") else SignalType.pdq


def _entry(kind: SignalType, signal: str, label: str) -> HashEntry:
    signal = signal.strip()
    if kind == SignalType.pdq:
        frames = (HashedFrame(pdq_from_hex(signal), 100),)  # a listed photo's quality is not in the signal
        return HashEntry(kind, signal.lower(), label, frames)
    frames = vpdq_frames(signal)
    return HashEntry(kind, vpdq_signal(list(frames)), label, frames)


def _rows(text: str, list_format: ListFormat) -> tuple[str, list[tuple[int, str | None, str, str | None]]]:
    """The file's format and its rows: (line, signal type or None, signal, label or None)."""
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip().lower()
    header = [column.strip() for column in first.split(",")]
    if list_format == "auto":
        has_hash = any(column in header for column in HASH_COLUMNS)
        list_format = ("threatexchange-csv" if {"signal_type", "signal_str", "collab"} <= set(header)
                       else "csv" if has_hash else "lines")
    if list_format == "lines":
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            kind, _, signal = line.partition(" ") if " " in line else ("", "", line)
            rows.append((number, kind or None, signal.strip(), None))
        return list_format, rows
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        return list_format, _csv_rows(reader, list_format)
    except csv.Error as error:  # a field past the csv module's limit (128 KiB), a stray quote...
        raise HashListError(f"line {reader.line_num + 1}: {error}") from None  # (the lines read whole before it)


def _csv_rows(reader: csv.DictReader, list_format: ListFormat) -> list[tuple[int, str | None, str, str | None]]:
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    hash_column = next((c for c in HASH_COLUMNS if c in columns), None)
    if hash_column is None:
        raise HashListError(f"a {list_format} hash list has a header naming its hash column "
                            f"({', '.join(HASH_COLUMNS)})")
    label_column = next((c for c in LABEL_COLUMNS if c in columns), None)
    rows = []
    for row in reader:
        values = {(k or "").strip().lower(): (v or "") for k, v in row.items() if isinstance(v, str)}
        if not any(values.values()):
            continue
        rows.append((reader.line_num, values.get("signal_type") or None, values.get(hash_column, ""),
                     (values.get(label_column) or None) if label_column else None))
    return rows


def parse_hash_list(text: str, default_label: str, list_format: ListFormat = "auto") -> ParsedList:
    """The entries of a hash list file; HashListError names the first malformed line."""
    if "\x00" in text:
        raise HashListError("a hash list holds no NUL characters")
    _, rows = _rows(text, list_format)
    parsed = ParsedList()
    for line, kind_name, signal, label in rows:
        kind = _signal_type(kind_name, signal.strip())
        if not isinstance(kind, SignalType):
            parsed.skipped[kind] += 1
            continue
        try:
            parsed.entries.append(_entry(kind, signal, (label or default_label).strip()[:200] or default_label))
        except ValueError as error:
            raise HashListError(f"line {line}: {error}") from None
    if not parsed.entries and not parsed.skipped:
        raise HashListError("no hashes in the file")
    return parsed
