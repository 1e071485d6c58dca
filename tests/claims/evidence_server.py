"""A real HTTP server serving the evidence payloads of `payloads.py`, plus misbehaving routes.

Not a test module: `conftest.py` starts one on 127.0.0.1 (allowed) and one on 127.0.0.2
(forbidden), and both count the requests they see so tests can prove a refusal never connected.
"""

import gzip
import ssl
import threading
import zlib
from collections.abc import Callable
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.claims.payloads import CONTENT

TLS_NAME = "evidence.test"  # the name in the HTTPS server's certificate
SLOW_SECONDS = 5.0
OVERSIZE_BYTES = 3_000_000
BOMB_BYTES = 512 * 1024 * 1024  # what the bombs decode to; both are about 1 KB on the wire
ENCODED = b'{"encoded": true}'
# Hostile evidence for rules: backtracking regexes take 2^28 steps on the first, and lexbor's
# `:has()` with descendant combinators does not finish on the second (200 nested divs).
CATASTROPHIC_REGEX = "(a+)+$"
CATASTROPHIC_TEXT = b"a" * 28 + b"!"
CATASTROPHIC_SELECTOR = ":has(div div div div p)"
DEEP_HTML = b"<div>" * 200


class EvidenceServer:
    """A threaded HTTP(S) server on `host`, port 0, counting every request it receives."""

    def __init__(self, host: str, tls: ssl.SSLContext | None = None) -> None:
        self.redirect_target = ""  # where /redirect/away points; set by the fixture
        self._hits: list[str] = []
        self._headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _QuietServer((host, 0), _handler_for(self))
        if tls is not None:
            # Handshake in the handler's thread, not in the accept loop.
            self._httpd.socket = tls.wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self.scheme = "https" if tls else "http"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self.host = host
        self.port = self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def hits(self) -> list[str]:
        """The paths requested so far, in order."""
        with self._lock:
            return list(self._hits)

    @property
    def headers(self) -> list[dict[str, str]]:
        """The request headers seen so far (names in lower case), in order."""
        with self._lock:
            return list(self._headers)

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
            self._headers.clear()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def record(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self._hits.append(path)
            self._headers.append(headers)

    def wait_or_stop(self, seconds: float) -> None:
        self._stopping.wait(seconds)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that give up early (timeouts, size caps) are expected here


def _handler_for(server: EvidenceServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            server.record(self.path, {k.lower(): v for k, v in self.headers.items()})
            route = _ROUTES.get(self.path)
            if route is not None:
                route(self, server)
            elif self.path in CONTENT:
                body, content_type = CONTENT[self.path]
                _send(self, 200, body, content_type)
            else:
                _send(self, 404, b'{"error":"not found"}', "application/json")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


Route = Callable[[BaseHTTPRequestHandler, EvidenceServer], None]


def _send(
    handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str, **headers: str
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def _fail(status: int) -> Route:
    def route(handler: BaseHTTPRequestHandler, server: EvidenceServer) -> None:
        _send(handler, status, b'{"error":"unavailable"}', "application/json")

    return route


def _redirect(location: str) -> Route:
    def route(handler: BaseHTTPRequestHandler, server: EvidenceServer) -> None:
        _send(handler, 302, b"", "text/plain", Location=location or server.redirect_target)

    return route


def _slow(handler: BaseHTTPRequestHandler, server: EvidenceServer) -> None:
    server.wait_or_stop(SLOW_SECONDS)
    _send(handler, 200, b'{"late": true}', "application/json")


def _oversize(handler: BaseHTTPRequestHandler, server: EvidenceServer) -> None:
    _send(handler, 200, b" " * OVERSIZE_BYTES, "application/json")


@cache
def gzip_of_zeros(size: int = BOMB_BYTES) -> bytes:
    """`size` zero bytes, gzipped (compressed a MiB at a time; cached: it takes a second)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = [packer.compress(block) for _ in range(size >> 20)]
    return b"".join(parts) + packer.flush()


def _encoded(encoding: str, body: Callable[[], bytes]) -> Route:
    def route(handler: BaseHTTPRequestHandler, server: EvidenceServer) -> None:
        _send(handler, 200, body(), "application/json", **{"Content-Encoding": encoding})

    return route


def _static(body: bytes, content_type: str) -> Route:
    def route(handler: BaseHTTPRequestHandler, server: EvidenceServer) -> None:
        _send(handler, 200, body, content_type)

    return route


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


_ROUTES: dict[str, Route] = {
    "/hostile/aaaa.txt": _static(CATASTROPHIC_TEXT, "text/plain; charset=utf-8"),
    "/hostile/deep.html": _static(DEEP_HTML, "text/html; charset=utf-8"),
    "/encoded/gzip": _encoded("gzip", lambda: gzip.compress(ENCODED)),
    "/encoded/deflate": _encoded("deflate", lambda: zlib.compress(ENCODED)),
    "/encoded/raw-deflate": _encoded("deflate", lambda: _raw_deflate(ENCODED)),
    "/encoded/identity": _encoded("identity", lambda: ENCODED),
    "/encoded/gzip-gzip": _encoded("gzip, gzip", lambda: gzip.compress(gzip.compress(ENCODED))),
    "/encoded/br": _encoded("br", lambda: ENCODED),
    "/encoded/corrupt": _encoded("gzip", lambda: b"\x1f\x8b not gzip at all"),
    "/bomb/gzip": _encoded("gzip", gzip_of_zeros),
    "/bomb/gzip-gzip": _encoded("gzip, gzip", lambda: gzip.compress(gzip_of_zeros())),
    "/error/500": _fail(500),
    "/error/503": _fail(503),
    "/slow": _slow,
    "/oversize": _oversize,
    "/redirect/ok": _redirect("/appstore/v2.json"),
    "/redirect/twice": _redirect("/redirect/ok"),
    "/redirect/loop-a": _redirect("/redirect/loop-b"),
    "/redirect/loop-b": _redirect("/redirect/loop-a"),
    "/redirect/chain-1": _redirect("/redirect/chain-2"),
    "/redirect/chain-2": _redirect("/redirect/chain-3"),
    "/redirect/chain-3": _redirect("/redirect/chain-4"),
    "/redirect/chain-4": _redirect("/appstore/v2.json"),
    "/redirect/away": _redirect(""),
}
