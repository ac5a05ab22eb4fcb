"""Stream a multipart upload straight to disk, refusing it as soon as it passes the size limit.

Starlette's own form parsing spools the whole body before the handler runs; this parser writes the
``file`` part to its final place chunk by chunk and never holds more than one chunk in memory.
The client's file name is kept as text only: the file on disk is named by the job id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from vidsafe.domain import ErrorCode

FILE_FIELD = "file"
OPTIONS_FIELD = "options"
MAX_OPTIONS_BYTES = 16 * 1024


class UploadError(Exception):
    def __init__(self, status: int, code: ErrorCode | str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class ReceivedUpload:
    filename: str
    options: bytes  # the raw ``options`` field (JSON), empty when absent


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


async def receive_upload(request: Request, target: Path, max_bytes: int) -> ReceivedUpload:
    """Write the request's ``file`` part to ``target``; returns the client's file name and options."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise UploadError(415, "not_multipart", f"send the video as multipart/form-data in a '{FILE_FIELD}' field")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + 64 * 1024:
        raise UploadError(413, ErrorCode.file_too_large, f"the upload exceeds the limit of {max_bytes} bytes")

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
                state.filename = disposition.get(b"filename", b"upload").decode("utf-8", "replace")

        def on_part_data(data: bytes, start: int, end: int) -> None:
            if state.in_options:
                state.options += data[start:end]
                if len(state.options) > MAX_OPTIONS_BYTES:
                    raise UploadError(413, "options_too_large", f"the options field exceeds {MAX_OPTIONS_BYTES} bytes")
                return
            if state.sink is None:
                return
            state.written += end - start
            if state.written > max_bytes:
                raise UploadError(413, ErrorCode.file_too_large, f"the upload exceeds the limit of {max_bytes} bytes")
            sink.write(data[start:end])

        parser = MultipartParser(
            options[b"boundary"],
            {
                "on_part_begin": on_part_begin, "on_header_field": on_header_field,
                "on_header_value": on_header_value, "on_header_end": on_header_end,
                "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
            },
        )
        try:
            async for chunk in request.stream():
                parser.write(chunk)
            parser.finalize()
        except UploadError:
            partial.unlink(missing_ok=True)
            raise
        except Exception as error:
            partial.unlink(missing_ok=True)
            raise UploadError(400, "malformed_upload", f"the multipart body could not be parsed: {error}") from None
    if not state.found:
        partial.unlink(missing_ok=True)
        raise UploadError(422, "missing_file", f"the form has no '{FILE_FIELD}' field")
    partial.replace(target)
    return ReceivedUpload(filename=state.filename or "upload", options=bytes(state.options))
