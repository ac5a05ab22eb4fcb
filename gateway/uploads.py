"""Stream a multipart upload straight to disk, refusing it as soon as it passes the size limit.

Starlette's own form parsing spools the whole body before the handler runs; this parser writes the
``file`` part to its final place chunk by chunk and never holds more than one chunk in memory.
The client's file name is kept as text only: the file on disk is named by the job id.

A hostile client is bounded everywhere: the body as a whole (not only the file part) by the size limit,
its pace (``UploadPace``: the time between two chunks, the average rate once the first idle timeout has
passed, a total deadline; a client that trickles bytes or stalls, slowloris, loses its connection and its
partial file), and each part's headers by python-multipart itself (8 lines of 4 kB at most: a 40 kB file
name is a malformed_upload). No database connection is held while the body streams.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from vidsafe.domain.errors import ErrorCode
from vidsafe.gateway.refusals import Refusal

FILE_FIELD = "file"
OPTIONS_FIELD = "options"
MAX_OPTIONS_BYTES = 16 * 1024
MAX_FILENAME_CHARS = 255  # what file systems allow; the name is only a label, so longer ones are cut
BODY_SLACK_BYTES = 64 * 1024  # multipart framing and the options field, on top of the file itself


@dataclass(frozen=True)
class UploadPace:
    """How slowly an upload may come: each chunk within ``idle_timeout_s`` of the last; once the first
    ``idle_timeout_s`` has passed, ``min_bytes_per_s`` on average; all of it within ``deadline_s``."""

    idle_timeout_s: float
    min_bytes_per_s: float
    deadline_s: float

    def wait_s(self, elapsed_s: float) -> float:
        """How long to wait for the next chunk, ``elapsed_s`` into the upload."""
        return max(0.0, min(self.idle_timeout_s, self.deadline_s - elapsed_s))

    def check_deadline(self, elapsed_s: float) -> None:
        """Refusal (408) when the upload has run past its deadline."""
        if elapsed_s >= self.deadline_s:
            raise Refusal(408, ErrorCode.upload_timeout, f"the upload took longer than {self.deadline_s:g} s "
                          "(VIDSAFE_UPLOAD_DEADLINE_S)")

    def check(self, received: int, elapsed_s: float) -> None:
        """Refusal (408) when ``received`` bytes in ``elapsed_s`` is too slow or too late."""
        self.check_deadline(elapsed_s)
        if elapsed_s > self.idle_timeout_s and received < self.min_bytes_per_s * elapsed_s:
            raise Refusal(408, ErrorCode.upload_too_slow, f"the upload came at {received / elapsed_s:.0f} bytes/s, "
                          f"under the {self.min_bytes_per_s:g} bytes/s required (VIDSAFE_UPLOAD_MIN_BYTES_PER_S)")


@dataclass
class ReceivedUpload:
    filename: str
    options: bytes  # the raw ``options`` field (JSON), empty when absent
    sha256: str  # of the file, what an idempotency key is bound to


@dataclass
class _PartState:
    sink: object | None = None
    in_options: bool = False
    options: bytearray = field(default_factory=bytearray)
    headers: dict[bytes, bytes] = field(default_factory=dict)
    header_field: bytes = b""
    header_value: bytes = b""
    filename: str | None = None
    written: int = 0
    found: bool = False
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)


def clean_filename(raw: bytes) -> str:
    """The client's file name as a safe label: decoded, without control or format characters (NUL breaks
    Postgres text, escapes reach terminals and logs, bidi overrides disguise extensions), and cut to
    ``MAX_FILENAME_CHARS``. It never becomes a path, so ``../`` may stay: it is shown, not followed."""
    text = raw.decode("utf-8", "replace")
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs"))
    return text.strip()[:MAX_FILENAME_CHARS] or "upload"


async def receive_upload(request: Request, target: Path, max_bytes: int, pace: UploadPace) -> ReceivedUpload:
    """Write the request's ``file`` part to ``target``; returns the client's file name and options."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise Refusal(415, ErrorCode.not_multipart, f"send the video as multipart/form-data in a '{FILE_FIELD}' field")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + BODY_SLACK_BYTES:
        raise Refusal(413, ErrorCode.file_too_large, f"the upload exceeds the limit of {max_bytes} bytes")

    state = _PartState()
    partial = target.with_name(target.name + ".partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    with partial.open("wb") as sink:

        def on_part_begin() -> None:
            state.headers.clear()

        def on_header_field(data: bytes, start: int, end: int) -> None:
            state.header_field += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            state.header_value += data[start:end]

        def on_header_end() -> None:
            state.headers[state.header_field.lower()] = state.header_value
            state.header_field = state.header_value = b""

        def on_headers_finished() -> None:
            _, disposition = parse_options_header(state.headers.get(b"content-disposition", b""))
            state.in_options = disposition.get(b"name") == OPTIONS_FIELD.encode()
            is_file = disposition.get(b"name") == FILE_FIELD.encode() and not state.found
            state.sink = sink if is_file else None
            if is_file:
                state.found = True
                state.filename = clean_filename(disposition.get(b"filename", b""))

        def on_part_data(data: bytes, start: int, end: int) -> None:
            if state.in_options:
                state.options += data[start:end]
                if len(state.options) > MAX_OPTIONS_BYTES:
                    raise Refusal(413, ErrorCode.options_too_large,
                                  f"the options field exceeds {MAX_OPTIONS_BYTES} bytes")
                return
            if state.sink is None:
                return
            state.written += end - start
            if state.written > max_bytes:
                raise Refusal(413, ErrorCode.file_too_large, f"the upload exceeds the limit of {max_bytes} bytes")
            sink.write(data[start:end])
            state.digest.update(data[start:end])

        try:
            parser = MultipartParser(
                options[b"boundary"],
                {
                    "on_part_begin": on_part_begin, "on_header_field": on_header_field,
                    "on_header_value": on_header_value, "on_header_end": on_header_end,
                    "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
                },
            )
            received = 0
            async for chunk in _chunks(request, pace):
                # Parts other than the file are discarded, but still count: an endless junk field must
                # not hold the connection forever.
                received += len(chunk)
                if received > max_bytes + BODY_SLACK_BYTES:
                    raise Refusal(413, ErrorCode.file_too_large,
                                  f"the upload exceeds the limit of {max_bytes} bytes")
                parser.write(chunk)
            parser.finalize()
        except Refusal:
            partial.unlink(missing_ok=True)
            raise
        except Exception as error:
            partial.unlink(missing_ok=True)
            raise Refusal(400, ErrorCode.malformed_upload, f"the multipart body could not be parsed: {error}") from None
        except BaseException:
            # The client went away (the request task is cancelled): nothing of its upload may stay.
            partial.unlink(missing_ok=True)
            raise
    if not state.found:
        partial.unlink(missing_ok=True)
        raise Refusal(422, ErrorCode.missing_file, f"the form has no '{FILE_FIELD}' field")
    partial.replace(target)
    return ReceivedUpload(filename=state.filename or "upload", options=bytes(state.options),
                          sha256=state.digest.hexdigest())


async def _chunks(request: Request, pace: UploadPace) -> AsyncIterator[bytes]:
    """The request body's chunks; Refusal (408) when the client keeps neither to ``pace`` nor sends at all."""
    stream = request.stream().__aiter__()
    started, received = time.monotonic(), 0
    while True:
        wait_s = pace.wait_s(time.monotonic() - started)
        try:
            chunk = await asyncio.wait_for(anext(stream), wait_s)
        except StopAsyncIteration:
            return
        except TimeoutError:
            pace.check_deadline(time.monotonic() - started)
            raise Refusal(408, ErrorCode.upload_timeout, f"the upload stalled: no data for {wait_s:g} s") from None
        received += len(chunk)
        pace.check(received, time.monotonic() - started)
        yield chunk
