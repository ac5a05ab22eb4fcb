"""The one guard for every outbound request vidsafe makes (webhooks, URL ingestion), against SSRF.

A URL a client hands us must not make the service reach what only the service can reach: its own
loopback (the gateway, Postgres, Redis, Triton), the private network it runs in, or the cloud metadata
endpoint (169.254.169.254), which hands out credentials. Unless ``VIDSAFE_ALLOW_PRIVATE_URLS`` is set:

Covered:
- only http and https; no credentials in the URL (``http://user:pw@host``), which would leak into logs;
- every address the host resolves to must be public: one private address among public ones refuses
  the URL, as an attacker controls which one a client picks. Numeric forms (``2130706433``,
  ``0x7f.1``) resolve like names, and IPv6 addresses that embed an IPv4 one (IPv4-mapped
  ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) are judged by the IPv4 address;
- DNS rebinding: the check runs in the connection layer, on the addresses the socket then connects
  to (the host name still goes in the Host header and TLS SNI), so a name that resolves to a public
  address when checked and to a private one when used cannot slip through;
- every redirect hop: each is a new request through the same guarded transport (at most 5 hops);
- proxies from the environment are ignored, so the check is made on the real destination;
- a slow server: besides the timeout on each read, a client may have a total deadline, enforced on every
  socket operation (a receiver that answers a byte every few seconds passes any per-read timeout).

Not covered: what a public server does on our behalf (a public proxy that fetches internal URLs);
ports (any port of a public host may be asked, but only HTTP is spoken to it); a keep-alive
connection is checked when opened, not on reuse (pools live as long as one client). A firewall on the
service's egress remains the stronger control; this guard keeps the application from being the hole.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote

import httpcore
import httpx

ALLOW_PRIVATE_SETTING = "VIDSAFE_ALLOW_PRIVATE_URLS"
MAX_REDIRECTS = 5
_SCHEMES = {"http": 80, "https": 443}
_CHUNK_BYTES = 64 * 1024
_MAX_NAME_CHARS = 200
_METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(Exception):
    """An outbound request vidsafe will not make, or that failed; ``code`` is stable for clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, in the resolver's order. Module-level so tests can replace it."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise OutboundRefused("url_unresolvable", f"the host {host} cannot be resolved ({error})") from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


def address_category(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address (e.g. "loopback"), or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded, kind = ip.ipv4_mapped, "IPv4-mapped"
        if embedded is None and ip in _NAT64:
            embedded, kind = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "NAT64"
        if embedded is None and ip.sixtofour is not None:
            embedded, kind = ip.sixtofour, "6to4"
        if embedded is not None:
            category = address_category(embedded)
            return f"{kind} {category}" if category else None
    for category, matches in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("non-public", not ip.is_global),  # e.g. 100.64.0.0/10, carrier-grade NAT
    ):
        if matches:
            return f"{category} (cloud metadata service)" if ip in _METADATA_ADDRESSES else category
    return None


def _check_form(url: httpx.URL) -> tuple[str, int]:
    """The checks that need no resolving: scheme, host, credentials. Returns the host and port to resolve."""
    if url.scheme not in _SCHEMES:
        scheme = f"the scheme {url.scheme}:" if url.scheme else "a URL without a scheme"
        raise OutboundRefused("url_not_allowed", f"{scheme} is not allowed, only http and https")
    if not url.raw_host:
        raise OutboundRefused("url_not_allowed", "the URL has no host")
    if url.userinfo:
        raise OutboundRefused("url_not_allowed", "credentials in the URL (user:password@) are not allowed")
    return url.raw_host.decode("ascii"), url.port or _SCHEMES[url.scheme]


def _allowed_addresses(host: str, port: int, allow_private: bool) -> list[IPAddress]:
    addresses = resolve(host, port)
    if not addresses:
        raise OutboundRefused("url_unresolvable", f"the host {host} resolves to no address")
    if allow_private:
        return addresses
    for ip in addresses:
        if category := address_category(ip):
            # Which internal address a name resolves to is the network's to know, not the caller's.
            where = f"{ip} is" if host == str(ip) else f"{host} resolves to"
            raise OutboundRefused(
                "url_not_allowed",
                f"{where} a {category} address; requests to internal networks are refused "
                f"(set {ALLOW_PRIVATE_SETTING}=true to allow them)",
            )
    return addresses


def _parse(url: str) -> httpx.URL:
    try:
        return httpx.URL(url)
    except httpx.InvalidURL as error:
        raise OutboundRefused("url_not_allowed", f"not a valid URL ({error})") from None


def check_url(url: str, allow_private: bool) -> None:
    """Raise OutboundRefused unless ``url`` may be requested now. The client of ``open_client`` checks
    again at connection time, which is the check that counts; this one is for refusing early."""
    host, port = _check_form(_parse(url))
    _allowed_addresses(host, port, allow_private)


class _Deadline:
    """A point in time every socket operation of a client must finish by (None: no total deadline)."""

    def __init__(self, total_s: float | None) -> None:
        self.total_s = total_s
        self._at = None if total_s is None else time.monotonic() + total_s

    @property
    def passed(self) -> bool:
        return self._at is not None and time.monotonic() >= self._at

    def bound(self, timeout: float | None, error: type[Exception]) -> float | None:
        """``timeout`` cut to what is left; ``error`` when nothing is."""
        if self._at is None:
            return timeout
        left = self._at - time.monotonic()
        if left <= 0:
            raise error(f"the total deadline of {self.total_s:g} s has passed")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._inner, self._deadline = inner, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.bound(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname,
                                      self._deadline.bound(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> object:
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolves, checks, and connects to the checked address itself, so rebinding cannot swap it; every
    stream it opens keeps to the client's total deadline."""

    def __init__(self, allow_private: bool, deadline: _Deadline) -> None:
        self._allow_private = allow_private
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        error: Exception | None = None
        for ip in _allowed_addresses(host, port, self._allow_private):
            try:
                stream = self._inner.connect_tcp(str(ip), port, self._deadline.bound(timeout, httpcore.ConnectTimeout),
                                                 local_address, socket_options)
                return _DeadlineStream(stream, self._deadline)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failure:
                error = failure
        assert error is not None  # _allowed_addresses never returns an empty list
        raise error

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the guard: form checks per request, address checks per connection."""

    def __init__(self, allow_private: bool, deadline: _Deadline) -> None:
        super().__init__()
        # httpx has no option for a network backend; its pool is swapped for one with the guarded backend.
        # Refuse to run unguarded if a later httpx builds its transport differently.
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("httpx's transport no longer holds the connection pool GuardedTransport replaces")
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),  # honours SSL_CERT_FILE, as httpx does by default
            network_backend=_GuardedBackend(allow_private, deadline),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _check_form(request.url)
        return super().handle_request(request)


def open_client(allow_private: bool, timeout_s: float, deadline_s: float | None = None) -> httpx.Client:
    """An httpx client whose every request and redirect hop passes the guard; ``timeout_s`` bounds
    connecting and each read and write, ``deadline_s`` (from now) all of them together."""
    return httpx.Client(
        transport=GuardedTransport(allow_private, _Deadline(deadline_s)),
        timeout=timeout_s,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        trust_env=False,
        headers={"User-Agent": "vidsafe"},
    )


def timed_out(who: str, started: float, timeout_s: float, deadline_s: float) -> str:
    """Why a request that timed out stopped: the total deadline, or a single wait."""
    if time.monotonic() - started >= deadline_s:
        return f"{who} took longer than the deadline of {deadline_s:g} s"
    return f"{who} did not answer within {timeout_s:g} s"


def display_name(url: str) -> str:
    """What a job fetched from ``url`` is called: the last segment of its path."""
    return _display_name(_parse(url))


def _display_name(url: httpx.URL) -> str:
    """The last path segment, as a file name safe to show and store: no folders, no control characters."""
    name = unquote(url.path).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if not unicodedata.category(char).startswith("C")).strip()
    if name in ("", ".", ".."):
        return "download"
    if len(name) > _MAX_NAME_CHARS:
        stem, dot, suffix = name.rpartition(".")
        keep = f"{dot}{suffix}" if stem and len(suffix) <= 16 else ""
        name = name[: _MAX_NAME_CHARS - len(keep)] + keep
    return name


def download(url: str, target: Path, *, max_bytes: int, timeout_s: float, deadline_s: float,
             allow_private: bool) -> str:
    """Stream a GET of ``url`` into ``target`` within ``deadline_s``; returns a display name for the file taken
    from the URL.

    Raises OutboundRefused: url_not_allowed or url_unresolvable (the guard), download_failed (an
    answer other than 2xx, a connection error, a timeout or the deadline), file_too_large (declared or
    streamed past ``max_bytes``, refused as soon as it is known). Nothing is left at ``target`` on failure.
    """
    parsed = _parse(url)
    done = False
    started = time.monotonic()
    try:
        with open_client(allow_private, timeout_s, deadline_s) as client:
            _download(client, parsed, target, max_bytes)
        done = True
    except httpx.TimeoutException:
        raise OutboundRefused("download_failed", timed_out("the server", started, timeout_s, deadline_s)) from None
    except httpx.TooManyRedirects:
        raise OutboundRefused("download_failed", f"more than {MAX_REDIRECTS} redirects") from None
    except httpx.HTTPError as error:
        reason = str(error) or type(error).__name__
        raise OutboundRefused("download_failed", f"the download failed: {reason}") from None
    finally:
        if not done:
            target.unlink(missing_ok=True)
    return _display_name(parsed)


def _download(client: httpx.Client, url: httpx.URL, target: Path, max_bytes: int) -> None:
    # A compressed body is refused, not inflated: a small gzip chunk can inflate far past max_bytes at once.
    with client.stream("GET", url, headers={"Accept-Encoding": "identity"}) as response:
        if not response.is_success:
            raise OutboundRefused("download_failed", f"the server answered HTTP {response.status_code}")
        if response.headers.get("Content-Encoding", "identity").lower() != "identity":
            raise OutboundRefused("download_failed", "the server sent a compressed body although asked not to")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise OutboundRefused("file_too_large", f"the file is {declared} bytes, over the limit of {max_bytes}")
        written = 0
        with target.open("wb") as file:
            for chunk in response.iter_raw(_CHUNK_BYTES):
                written += len(chunk)
                if written > max_bytes:
                    raise OutboundRefused("file_too_large", f"the file passes the limit of {max_bytes} bytes")
                file.write(chunk)
