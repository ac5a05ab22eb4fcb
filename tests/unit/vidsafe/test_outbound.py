"""The SSRF guard and URL downloads, against local HTTP servers in threads (no stack needed)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from ipaddress import IPv4Address
from pathlib import Path

import httpx
import pytest

from tests.helpers.local_http import Respond, answer, serve
from vidsafe import outbound
from vidsafe.outbound import OutboundRefused, check_url, download, open_client


def redirect_to(location: str) -> Respond:
    return lambda handler: answer(handler, 302, Location=location)


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names the resolver answers from this table (a list per name, or the successive answers of a
    rebinding name); anything else goes to the real resolver."""
    table: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list[tuple]:
        if host not in table:
            return real(host, port, *args, **kwargs)
        if not table[host]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
                for ip in table[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


@pytest.fixture
def loopback_is_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let 127.0.0.1 pass as public, so the local test servers stand in for the internet; every other
    loopback address (127.0.0.2, where a test puts the "internal" server) stays refused."""
    real = outbound.address_category
    monkeypatch.setattr(outbound, "address_category",
                        lambda ip: None if ip == IPv4Address("127.0.0.1") else real(ip))


@contextmanager
def raises_code(code: str) -> Iterator[pytest.ExceptionInfo[OutboundRefused]]:
    with pytest.raises(OutboundRefused) as info:
        yield info
    assert info.value.code == code, info.value.message


# The guard

INTERNAL = [
    ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
    ("http://localhost:8080/", "localhost resolves to a loopback address"),
    ("http://[::1]/", "::1 is a loopback address"),
    ("http://10.1.2.3/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local (cloud metadata service)"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://[::ffff:127.0.0.1]/", "IPv4-mapped loopback"),
    ("http://[64:ff9b::a9fe:a9fe]/", "NAT64 link-local (cloud metadata service)"),
    ("http://[2002:c0a8:101::]/", "6to4 private"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fc00::1]/", "private"),
    ("http://224.0.0.1/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://100.64.0.1/", "non-public"),
    ("http://2130706433/", "loopback"),  # 127.0.0.1 as one number
    ("https://internal.test/", "internal.test resolves to a loopback address"),
]


@pytest.mark.parametrize(("url", "reason"), INTERNAL)
def test_internal_addresses_are_refused_unless_allowed(url: str, reason: str, dns: dict[str, list[str]]) -> None:
    dns["internal.test"] = ["127.0.0.1"]
    with raises_code("url_not_allowed") as info:
        check_url(url, allow_private=False)
    assert reason in info.value.message
    assert "VIDSAFE_ALLOW_PRIVATE_URLS" in info.value.message
    check_url(url, allow_private=True)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://example.com:70/_stats", "ftp://example.com/a.mp4",
                                 "example.com/video.mp4", "http:///video.mp4", "http://user:pw@example.com/",
                                 "http://token@example.com/", "http://[::1"])
@pytest.mark.parametrize("allow_private", [False, True])
def test_other_schemes_credentials_and_malformed_urls_are_refused(url: str, allow_private: bool) -> None:
    with raises_code("url_not_allowed"):
        check_url(url, allow_private=allow_private)


def test_one_internal_address_among_public_ones_refuses_the_host(dns: dict[str, list[str]]) -> None:
    dns["public.test"] = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    dns["mixed.test"] = ["93.184.215.14", "10.0.0.7"]
    check_url("https://public.test/video.mp4", allow_private=False)
    with raises_code("url_not_allowed") as info:
        check_url("https://mixed.test/video.mp4", allow_private=False)
    assert "mixed.test resolves to a private address" in info.value.message and "10.0.0.7" not in info.value.message


def test_an_unresolvable_host_is_refused(dns: dict[str, list[str]]) -> None:
    dns["nowhere.test"] = []
    for allow_private in (False, True):
        with raises_code("url_unresolvable") as info:
            check_url("http://nowhere.test/", allow_private=allow_private)
        assert "nowhere.test" in info.value.message


def test_the_address_connected_to_is_the_one_checked(dns: dict[str, list[str]],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: public when checked, loopback when connecting. The connection is refused and the
    internal server never sees a request."""
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])
    table_lookup = socket.getaddrinfo

    def rebinding(host: str, *args: object, **kwargs: object) -> list[tuple]:
        if host == "rebind.test":
            dns[host] = next(answers)
        return table_lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with serve(lambda handler: answer(handler, 200, b"internal")) as (url, received):
        port = url.rsplit(":", 1)[1]
        check_url(f"http://rebind.test:{port}/", allow_private=False)
        with open_client(allow_private=False, timeout_s=2) as client, raises_code("url_not_allowed") as info:
            client.get(f"http://rebind.test:{port}/")
    assert "rebind.test resolves to a loopback address" in info.value.message
    assert received == []


@pytest.mark.usefixtures("loopback_is_public")
def test_the_checked_address_is_reached_with_the_host_name_kept(dns: dict[str, list[str]], tmp_path: Path) -> None:
    dns["public.test"] = ["127.0.0.1"]
    with serve(lambda handler: answer(handler, 200, b"video bytes")) as (url, received):
        port = url.rsplit(":", 1)[1]
        download(f"http://public.test:{port}/a.mp4", tmp_path / "a.mp4", max_bytes=100, timeout_s=2, deadline_s=10,
                 allow_private=False)
    assert (tmp_path / "a.mp4").read_bytes() == b"video bytes"
    assert received[0].headers["Host"] == f"public.test:{port}"


@pytest.mark.usefixtures("loopback_is_public")
def test_redirects_are_followed_and_each_hop_is_checked(tmp_path: Path) -> None:
    target = tmp_path / "video.mp4"
    with serve(lambda handler: answer(handler, 200, b"internal"), host="127.0.0.2") as (internal, internal_hits):
        for location in (f"{internal}/admin", "http://169.254.169.254/latest/meta-data/", "file:///etc/passwd"):
            with serve(redirect_to(location)) as (url, _), raises_code("url_not_allowed"):
                download(f"{url}/video.mp4", target, max_bytes=100, timeout_s=2, deadline_s=10, allow_private=False)
            assert not target.exists()
    assert internal_hits == []

    def hops(handler: BaseHTTPRequestHandler) -> None:
        if handler.path == "/final.mp4":
            answer(handler, 200, b"moved video")
        else:
            answer(handler, 301, Location="/final.mp4")

    with serve(hops) as (url, _):
        assert download(f"{url}/start.mp4", target, max_bytes=100, timeout_s=2, deadline_s=10,
                        allow_private=False) == "start.mp4"
    assert target.read_bytes() == b"moved video"
    loop = serve(lambda handler: answer(handler, 302, Location=handler.path + "x"))
    with loop as (url, received), raises_code("download_failed") as info:
        download(f"{url}/loop", target, max_bytes=100, timeout_s=2, deadline_s=10, allow_private=False)
    assert "more than 5 redirects" in info.value.message and len(received) == 6


# Downloads


def test_download_writes_the_file_and_names_it_from_the_url(tmp_path: Path) -> None:
    content = bytes(range(256)) * 4096  # 1 MiB
    with serve(lambda handler: answer(handler, 200, content)) as (url, _):
        name = download(f"{url}/media/My%20holiday.mp4?signature=abc", tmp_path / "upload", max_bytes=len(content),
                        timeout_s=2, deadline_s=10, allow_private=True)
    assert name == "My holiday.mp4"
    assert (tmp_path / "upload").read_bytes() == content


def test_a_declared_size_over_the_limit_is_refused_before_the_body(tmp_path: Path) -> None:
    with serve(lambda handler: answer(handler, 200, b"x" * 2000)) as (url, _), raises_code("file_too_large") as info:
        download(f"{url}/big.mp4", tmp_path / "big", max_bytes=1000, timeout_s=2, deadline_s=10, allow_private=True)
    assert "2000 bytes" in info.value.message
    assert not (tmp_path / "big").exists()


def test_a_streamed_body_over_the_limit_is_cut_off_and_removed(tmp_path: Path) -> None:
    finished = []

    def chunked_64_mib(handler: BaseHTTPRequestHandler) -> None:
        handler.protocol_version = "HTTP/1.1"
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")  # and no Content-Length
        handler.end_headers()
        for _ in range(1024):
            handler.wfile.write(b"%x\r\n%s\r\n" % (65536, b"v" * 65536))
        handler.wfile.write(b"0\r\n\r\n")
        finished.append(True)

    with serve(chunked_64_mib) as (url, _), raises_code("file_too_large"):
        download(f"{url}/stream", tmp_path / "stream", max_bytes=300_000, timeout_s=2, deadline_s=10,
                 allow_private=True)
    assert not (tmp_path / "stream").exists()
    assert not finished, "the whole body was read, not cut off at the limit"


def test_an_error_status_fails_the_download(tmp_path: Path) -> None:
    with serve(lambda handler: answer(handler, 404, b"not here")) as (url, _), raises_code("download_failed") as info:
        download(f"{url}/gone.mp4", tmp_path / "gone", max_bytes=1000, timeout_s=2, deadline_s=10, allow_private=True)
    assert "HTTP 404" in info.value.message
    assert not (tmp_path / "gone").exists()


def stall(seconds: float, head: bytes = b"", length: int = 0) -> Respond:
    """Wait before answering, or (with ``length``) send part of the body and then wait."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        if length:
            handler.send_response(200)
            handler.send_header("Content-Length", str(length))
            handler.end_headers()
            handler.wfile.write(head)
            handler.wfile.flush()
        time.sleep(seconds)

    return respond


@pytest.mark.parametrize("respond", [stall(1.0), stall(1.0, b"x" * 100, 1000)], ids=["no_answer", "stalled_body"])
def test_a_timeout_fails_the_download_and_leaves_nothing(respond: Respond, tmp_path: Path) -> None:
    with serve(respond) as (url, _), raises_code("download_failed") as info:
        download(f"{url}/slow.mp4", tmp_path / "slow", max_bytes=1000, timeout_s=0.2, deadline_s=10, allow_private=True)
    assert "did not answer within 0.2 s" in info.value.message
    assert not (tmp_path / "slow").exists()


def trickle(every_s: float) -> Respond:
    """Answer 200 and a long body a byte at a time, each within any per-read timeout."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(1000):
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(every_s)

    return respond


def test_a_download_that_trickles_stops_at_its_deadline(tmp_path: Path) -> None:
    """Each byte comes well within the 1 s timeout; the whole does not come within the 1.5 s deadline."""
    started = time.monotonic()
    with serve(trickle(0.05)) as (url, _), raises_code("download_failed") as info:
        download(f"{url}/slow.mp4", tmp_path / "slow", max_bytes=1000, timeout_s=1, deadline_s=1.5,
                 allow_private=True)
    assert "deadline of 1.5 s" in info.value.message
    assert time.monotonic() - started < 10  # a hang guard: without the deadline it takes 50 s
    assert not (tmp_path / "slow").exists()


def test_a_refused_connection_fails_the_download(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        with raises_code("download_failed"):
            download(f"http://127.0.0.1:{port}/a.mp4", tmp_path / "a", max_bytes=1000, timeout_s=2, deadline_s=10,
                     allow_private=True)
    assert not (tmp_path / "a").exists()


def test_a_compressed_body_is_refused_not_inflated(tmp_path: Path) -> None:
    gzipped = serve(lambda handler: answer(handler, 200, b"\x1f\x8b...", Content_Encoding="gzip"))
    with gzipped as (url, _), raises_code("download_failed") as info:
        download(f"{url}/a.mp4", tmp_path / "a", max_bytes=1000, timeout_s=2, deadline_s=10, allow_private=True)
    assert "compressed" in info.value.message
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize(("url", "name"), [
    ("http://h/videos/clip.mp4", "clip.mp4"),
    ("http://h/a/..%2F..%2Fetc%2Fpasswd", "passwd"),
    ("http://h/a/..%5C..%5Cboot.ini", "boot.ini"),
    ("http://h/evil%0d%0aname%00.mp4", "evilname.mp4"),
    ("http://h/", "download"),
    ("http://h/dir/..", "download"),
    ("http://h/%20%09", "download"),
    ("http://h/" + "n" * 300 + ".mp4", "n" * 196 + ".mp4"),
])
def test_display_names_are_plain_file_names(url: str, name: str) -> None:
    assert outbound._display_name(httpx.URL(url)) == name
