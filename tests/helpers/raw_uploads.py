"""Uploads written by hand, byte for byte: what a hostile or broken client sends, which httpx would tidy up."""

from __future__ import annotations

import socket

from vidsafe.domain.api import API_KEY_HEADER

NUDITY_ONLY = '{"modules": ["nudity"]}'
BOUNDARY = "vidsafe-hostile-boundary"


def multipart(filename: str, content: bytes, options: str | None = NUDITY_ONLY) -> tuple[bytes, str]:
    """A multipart body and its Content-Type; the file name is sent raw (httpx escapes control characters)."""
    parts = []
    if options is not None:
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="options"\r\n\r\n{options}\r\n'.encode())
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="'.encode()
                 + filename.encode("utf-8", "surrogateescape")
                 + b'"\r\nContent-Type: video/mp4\r\n\r\n' + content + b"\r\n")
    parts.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={BOUNDARY}"


def start_upload(port: int, key: str, body: bytes, content_type: str) -> socket.socket:
    """A connection that has sent an upload's headers and none of its body: the caller sends that, as it likes."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall((f"POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n{API_KEY_HEADER}: {key}\r\n"
                  f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n").encode())
    return sock


def read_answer(sock: socket.socket) -> tuple[int, bytes]:
    """The status and body of the answer on ``sock`` (a JSON body: read up to its closing brace)."""
    reply = b""
    while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        reply += chunk
    status_line, _, rest = reply.partition(b"\r\n")
    return int(status_line.split()[1]), rest
