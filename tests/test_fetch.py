"""URL sources: size and type limits, and no fetching of internal addresses."""

from __future__ import annotations

import socket

import pytest
from httpserver import Routes, serve

from common.errors import SourceError
from ingest.fetch import fetch

ARTICLE_HTML = "<html><head><title>Town news</title></head><body><p>The mayor opened a park.</p></body></html>"


@pytest.fixture
def site():
    routes = Routes()
    routes.page("/article.html", ARTICLE_HTML)
    routes.page("/image.png", b"\x89PNG....", "image/png")
    routes.page("/big.txt", "x" * 5000, "text/plain")
    with serve(routes) as base:
        yield routes, base


def test_allowlisted_loopback_is_fetched_with_redirects(site):
    routes, base = site
    routes.redirect("/old", "/article.html")
    got = fetch(f"{base}/old", max_bytes=10_000, timeout=5, allow=["127.0.0.1"])
    assert got.kind == "html" and b"mayor" in got.data and got.url.endswith("/article.html")


@pytest.mark.parametrize(
    "host", ["localhost", "127.0.0.1", "2130706433", "0x7f000001", "127.1", "[::1]", "[::ffff:127.0.0.1]"]
)
def test_loopback_is_refused_in_every_spelling(site, host):
    routes, base = site
    port = base.rsplit(":", 1)[1]
    with pytest.raises(SourceError, match=r"non-public address|cannot resolve"):
        fetch(f"http://{host}:{port}/article.html", max_bytes=10_000, timeout=5)
    assert routes.hits == []


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.100.100.200",
        "fd00:ec2::254",
        "fe80::1",
        "0.0.0.0",
    ],
)
def test_private_and_metadata_addresses_are_refused_before_connecting(monkeypatch, address):
    def no_connection(*_args, **_kwargs):
        raise AssertionError("a connection was opened")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    with pytest.raises(SourceError, match="non-public address"):
        fetch("http://news.example/a", max_bytes=1000, timeout=5, resolver=lambda host, port: [address])


def test_redirect_to_an_internal_address_is_refused(site, monkeypatch):
    routes, base = site
    routes.redirect("/go", "http://metadata.internal/latest/meta-data/")
    table = {"127.0.0.1": ["127.0.0.1"], "metadata.internal": ["169.254.169.254"]}
    with pytest.raises(SourceError, match="non-public address"):
        fetch(f"{base}/go", max_bytes=1000, timeout=5, allow=["127.0.0.1"], resolver=lambda h, p: table[h])
    assert routes.hits == ["/go"]


def test_size_cap_and_content_type(site):
    _routes, base = site
    with pytest.raises(SourceError, match="over the limit"):
        fetch(f"{base}/big.txt", max_bytes=1000, timeout=5, allow=["127.0.0.1"])
    with pytest.raises(SourceError, match="unsupported content type 'image/png'"):
        fetch(f"{base}/image.png", max_bytes=10_000, timeout=5, allow=["127.0.0.1"])
    with pytest.raises(SourceError, match="HTTP 404"):
        fetch(f"{base}/missing", max_bytes=10_000, timeout=5, allow=["127.0.0.1"])
    with pytest.raises(SourceError, match="not an http"):
        fetch("file:///etc/passwd", max_bytes=10_000, timeout=5)


def test_conditional_fetch_honours_the_etag(site):
    routes, base = site
    routes.page("/tagged.html", ARTICLE_HTML, etag='"v1"')
    first = fetch(f"{base}/tagged.html", max_bytes=10_000, timeout=5, allow=["127.0.0.1"])
    assert first.etag == '"v1"' and not first.not_modified and b"mayor" in first.data
    again = fetch(f"{base}/tagged.html", max_bytes=10_000, timeout=5, allow=["127.0.0.1"], etag=first.etag)
    assert again.not_modified and again.data == b"" and routes.bodies == ["/tagged.html"]
    routes.page("/tagged.html", ARTICLE_HTML.replace("park", "library"), etag='"v2"')
    changed = fetch(f"{base}/tagged.html", max_bytes=10_000, timeout=5, allow=["127.0.0.1"], etag=first.etag)
    assert changed.etag == '"v2"' and b"library" in changed.data
