"""A tiny HTTP server on loopback for URL-source tests (never any other address)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Routes:
    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, str, bytes, dict[str, str]]] = {}
        self.hits: list[str] = []
        self.bodies: list[str] = []  # paths whose body was sent (not a 304, not a 404)
        self.failing: set[str] = set()  # paths answered with HTTP 500

    def page(
        self, path: str, body: bytes | str, content_type: str = "text/html; charset=utf-8", etag: str | None = None
    ) -> None:
        """A page; with ``etag``, a request whose If-None-Match names it gets 304 and no body."""
        data = body.encode() if isinstance(body, str) else body
        self.pages[path] = (200, content_type, data, {"ETag": etag} if etag else {})

    def redirect(self, path: str, location: str) -> None:
        self.pages[path] = (302, "text/plain", b"", {"Location": location})


def respond(handler: BaseHTTPRequestHandler, body: bytes | str, content_type: str = "text/html; charset=utf-8") -> None:
    """Send a whole 200 response: content type and length, body."""
    data = body.encode() if isinstance(body, str) else body
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


@contextmanager
def on_loopback(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free loopback port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve(routes: Routes) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            routes.hits.append(self.path)
            status, ctype, body, headers = routes.pages.get(self.path, (404, "text/plain", b"not found", {}))
            if self.path in routes.failing:
                status, body, headers = 500, b"down", {}
            elif headers.get("ETag") and self.headers.get("If-None-Match") == headers["ETag"]:
                status, body = 304, b""
            elif status == 200:
                routes.bodies.append(self.path)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    with on_loopback(Handler) as base:
        yield base
