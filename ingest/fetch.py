"""Fetch a URL source safely: timeout, size cap, content-type check, no internal addresses.

Every hop (the first request and each redirect) is resolved first; if any
address is loopback, private, link-local, reserved or a cloud metadata
address, the fetch is refused before a connection is opened, unless the host
or network is allowlisted.  The connection then goes to the address that was
checked, so DNS cannot change its answer in between.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from common.errors import SourceError
from ingest.loaders import CONTENT_TYPES
from ingest.urls import check_credentials, redact

MAX_REDIRECTS = 5
ACCEPTED_TYPES = CONTENT_TYPES  # the kinds table in ingest/loaders.py
Resolver = Callable[[str, int], Sequence[str]]


@dataclass(frozen=True)
class Fetched:
    url: str  # the final URL, after redirects
    data: bytes
    kind: str  # a kind of ingest/loaders.py KINDS
    charset: str | None = None  # as the Content-Type header declared it, lower-case
    etag: str | None = None  # validators for the next conditional request
    last_modified: str | None = None
    not_modified: bool = False  # HTTP 304: the copy we hold is current (no body was sent)


def _shown(url: str) -> str:
    """A URL as an error message may show it: no secret query values, no credentials."""
    return redact(url)[:200]


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise SourceError(f"cannot resolve {host}: {exc.strerror}") from None
    except UnicodeError:  # an over-long or empty label: IDNA cannot encode it
        raise SourceError(f"not a valid host name: {host[:200]}") from None
    return sorted({str(info[4][0]) for info in infos})


def _allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, host: str, port: int, allow: Sequence[str]) -> bool:
    """Allowlist entries are a host name, an address or a network, each optionally with a port
    (``127.0.0.1:8080``, ``[::1]:8080``, ``intranet.example:443``); without one, any port."""
    for entry in allow:
        name, entry_port = _split_port(entry.strip().lower())
        if entry_port is not None and entry_port != port:
            continue
        if name == host.lower():
            return True
        try:
            if ip in ipaddress.ip_network(name, strict=False):
                return True
        except ValueError:
            continue
    return False


def _split_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        inner, _, rest = entry[1:].partition("]")
        return inner, int(rest[1:]) if rest[:1] == ":" and rest[1:].isdigit() else None
    name, sep, port = entry.rpartition(":")
    if sep and ":" not in name and port.isdigit():
        return name, int(port)
    return entry, None


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return is_public(ip.ipv4_mapped)
    if isinstance(ip, ipaddress.IPv6Address) and ip.sixtofour is not None:  # 2002::/16 embeds an IPv4
        return is_public(ip.sixtofour)
    if isinstance(ip, ipaddress.IPv6Address) and ip.teredo is not None:  # server and (obfuscated) client
        return all(is_public(v4) for v4 in ip.teredo) and not ip.is_private
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip in ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, Alibaba metadata
        or ip in ipaddress.ip_network("fd00:ec2::/32")  # AWS IPv6 metadata
    )


def check_address(host: str, port: int, allow: Sequence[str], resolver: Resolver) -> str:
    """The address to connect to, or a SourceError if the host is internal and not allowlisted."""
    addresses = resolver(host, port)
    if not addresses:
        raise SourceError(f"cannot resolve {host}")
    for raw in addresses:
        ip = ipaddress.ip_address(raw.split("%")[0])
        if not is_public(ip) and not _allowed(ip, host, port, allow):
            raise SourceError(f"refusing to fetch {host}: it resolves to a non-public address ({ip})")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def fetch(
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    allow: Sequence[str] = (),
    resolver: Resolver = system_resolver,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Fetched:
    """GET ``url`` following at most five redirects, each hop checked before connecting.

    ``timeout`` bounds the whole fetch (every hop's connect, headers and body together), not
    each socket read: a server that sends one byte at a time cannot keep it going.  With
    ``etag`` or ``last_modified`` (from an earlier fetch) the request is conditional: a server
    that answers 304 sends no body, and the result is ``not_modified``."""
    headers = _headers(etag, last_modified)
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        try:
            parts = urlsplit(url)
            host = parts.hostname
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:  # http://[oops/, a port out of range or not a number
            raise SourceError(f"not a valid URL ({exc}): {_shown(url)}") from None
        if parts.scheme not in ("http", "https") or not host:
            raise SourceError(f"not an http(s) URL: {_shown(url)}")
        check_credentials(url)  # also on a redirect: credentials are never sent, nor shown
        address = check_address(host, port, allow, resolver)
        left = deadline - time.monotonic()
        if left <= 0:
            raise SourceError(f"{_shown(url)}: fetch timed out after {round(timeout, 1):g} s")
        conn_cls = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        conn = conn_cls(host, address, port, left)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        expired = threading.Event()
        watchdog = threading.Timer(left, _expire, args=(conn, expired))
        watchdog.daemon = True
        watchdog.start()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise SourceError(f"{_shown(url)}: redirect without a Location")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                return _not_modified(response, url, etag, conditional=bool(etag or last_modified))
            fetched = _body(response, url, max_bytes, expired)
            if expired.is_set():
                raise SourceError(f"{_shown(url)}: fetch timed out after {round(timeout, 1):g} s")
            return fetched
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set():
                raise SourceError(f"{_shown(url)}: fetch timed out after {round(timeout, 1):g} s") from None
            raise SourceError(f"{_shown(url)}: fetch failed ({exc})") from None
        finally:
            watchdog.cancel()
            conn.close()
    raise SourceError(f"{_shown(url)}: more than {MAX_REDIRECTS} redirects")


def _headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {"User-Agent": "citebot/0.1", "Accept": ", ".join(ACCEPTED_TYPES)}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _not_modified(response: http.client.HTTPResponse, url: str, etag: str | None, *, conditional: bool) -> Fetched:
    """The answer to a conditional request that found our copy current; any other status is an error."""
    if response.status == 304 and conditional:
        return Fetched(url, b"", "", etag=response.getheader("ETag") or etag, not_modified=True)
    raise SourceError(f"{_shown(url)}: the server answered HTTP {response.status}")


def _body(response: http.client.HTTPResponse, url: str, max_bytes: int, expired: threading.Event) -> Fetched:
    content_type = response.getheader("Content-Type", "")
    kind = _kind(content_type, url)
    data = _read_capped(response, max_bytes, url, expired)
    charset = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", content_type, re.IGNORECASE)
    return Fetched(
        url,
        data,
        kind,
        charset.group(1).lower() if charset else None,
        etag=response.getheader("ETag"),
        last_modified=response.getheader("Last-Modified"),
    )


def _expire(conn: http.client.HTTPConnection, expired: threading.Event) -> None:
    """At the deadline: shut the socket down, so whatever read is waiting on it returns now."""
    expired.set()
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def _kind(content_type: str, url: str) -> str:
    mime = content_type.split(";", maxsplit=1)[0].strip().lower()
    if mime in ACCEPTED_TYPES:
        return ACCEPTED_TYPES[mime]
    raise SourceError(f"{_shown(url)}: unsupported content type {mime or '(none)'!r}")


def _read_capped(response: http.client.HTTPResponse, max_bytes: int, url: str, expired: threading.Event) -> bytes:
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise SourceError(f"{_shown(url)}: {int(declared):,} bytes is over the limit of {max_bytes:,} bytes")
    pieces: list[bytes] = []
    size = 0
    while not expired.is_set():
        piece = response.read1(65536) if size <= max_bytes else b""
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
    data = b"".join(pieces)
    if len(data) > max_bytes:
        raise SourceError(f"{_shown(url)}: over the limit of {max_bytes:,} bytes")
    if not expired.is_set() and declared and declared.isdigit() and len(data) < int(declared):
        raise SourceError(
            f"{_shown(url)}: the body ended after {len(data):,} of its {int(declared):,} bytes (Content-Length)"
        )
    return data
