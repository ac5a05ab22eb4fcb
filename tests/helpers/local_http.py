"""A local HTTP server in a thread, for the tests of outbound requests (downloads, webhooks)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Respond = Callable[[BaseHTTPRequestHandler], None]


@contextmanager
def serve(respond: Respond, host: str = "127.0.0.1") -> Iterator[tuple[str, list[BaseHTTPRequestHandler]]]:
    """A server on a free port answering every GET and POST with ``respond``; yields its base URL and the
    requests it received."""
    received: list[BaseHTTPRequestHandler] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received.append(self)
            with suppress(OSError):  # the client hung up, as it should on a refused or timed-out request
                respond(self)

        do_POST = do_GET

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    try:
        yield f"http://{host}:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def answer(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"", **headers: str) -> None:
    """Read the request's body (closing on unread data would reset the connection), then answer."""
    handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
    handler.send_response(status)
    for name, value in {"Content-Length": str(len(body)), **headers}.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(body)


def answer_slowly(every_s: float) -> Respond:
    """A receiver that reads the request, then answers 204 a byte every ``every_s``: each read of its answer comes
    well within any per-read timeout, the whole takes 40 times ``every_s``."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        for byte in b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n":
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(every_s)

    return respond
