"""One log line per request, and its request metrics, around the whole app (fast lane included).

A line holds the time, the request id (also sent back as `X-Request-ID`), method, path (never
the query string), status and duration: no header, so never a token, password or cookie. Text
by default, JSON lines with `FORECAST_LEDGER_LOG_FORMAT=json`. Lines go to the
`forecast_ledger.requests` logger (INFO) when the program has configured logging, else to
stderr, gathered once per event-loop turn and written by a thread of their own.
"""

import asyncio
import atexit
import json
import logging
import queue
import random
import re
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.routing import Mount
from starlette.types import Message, Receive, Scope, Send

from forecasts.notify.email.links import redacted
from web import metrics

log = logging.getLogger("forecast_ledger.requests")
# the pages of email links: their last segment is a token (SPEC §9: shown as '…')
_LINK_PATHS = ("/confirm/", "/reset/", "/unsubscribe/")

# an id from a proxy in front is kept (so its logs and ours join up) if it is this plain
_GIVEN_ID = re.compile(rb"^[A-Za-z0-9._:-]{8,64}$")
_PLAIN_PATH = re.compile(r"^[\x21-\x7e]*$")
UNMATCHED = "unmatched"

App = Callable[[Scope, Receive, Send], Awaitable[None]]


class _Lines:
    """Lines to stderr, gathered once per event-loop turn (one write for all the requests a
    group commit answered at once) and written by a thread of their own: a write to a file can
    wait on the disk (behind the writer's fsyncs), and the event loop must never wait with it."""

    def __init__(self) -> None:
        self.pending: list[str] = []
        self._chunks: queue.SimpleQueue[str] = queue.SimpleQueue()
        threading.Thread(target=self._write, name="request-log", daemon=True).start()
        atexit.register(self.drain)

    def __call__(self, line: str) -> None:
        if not self.pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self.pending.append(line)

    def flush(self) -> None:
        lines, self.pending = self.pending, []
        self._chunks.put("\n".join(lines) + "\n")

    def _write(self) -> None:
        while True:
            chunk = self._chunks.get()
            while not self._chunks.empty():  # behind a slow write: catch up in one
                chunk += self._chunks.get()
            _to_stderr(chunk)

    def drain(self) -> None:
        """What is still queued, written now (at exit)."""
        chunks = []
        while not self._chunks.empty():
            chunks.append(self._chunks.get())
        if self.pending:
            chunks.append("\n".join(self.pending) + "\n")
            self.pending = []
        if chunks:
            _to_stderr("".join(chunks))


def _to_stderr(text: str) -> None:
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed: the log must never fail a request
        pass


def _sink() -> Callable[[str], None]:
    """Where lines go: the logger if the program has set logging up, else straight to stderr."""
    if log.handlers or logging.getLogger().handlers:
        return log.info
    return _Lines()


class RequestLog:
    def __init__(self, log_format: str) -> None:
        self.json = log_format == "json"
        if log.level == logging.NOTSET:
            log.setLevel(logging.INFO)
        self.write = _sink()
        self._second = -1
        self._stamp = ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: App) -> None:
        started = time.perf_counter()
        request_id = _request_id(scope)
        status = 500  # unless a response starts: the server answers a crash with a 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id)]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            metrics.observe_request(scope["method"], route_label(scope), status, seconds)
            self.write(self.line(scope, request_id.decode(), status, seconds))

    def line(self, scope: Scope, request_id: str, status: int, seconds: float) -> str:
        at = self._now()
        path = scope["path"]
        if path.startswith(_LINK_PATHS):  # an email link's token is a credential
            path = redacted(quote(path, safe="/"))  # '…' is the only character outside ASCII
        ms = round(seconds * 1000, 2)
        if self.json:
            fields = {"time": at, "request_id": request_id, "method": scope["method"]}
            fields.update(path=path, status=status, duration_ms=ms)
            return json.dumps(fields)
        if not _PLAIN_PATH.match(path) and not path.startswith(_LINK_PATHS):
            path = quote(path, safe="/")  # spaces, quotes, newlines: one line, unambiguous
        return f"{at} {request_id} {scope['method']} {path} {status} {ms}ms"

    def _now(self) -> str:
        """UTC time to the millisecond; the date and time of day are formatted once a second."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int((now - second) * 1000):03d}Z"


def route_label(scope: Scope) -> str:
    """The matched route's full template ("/api/v1/claims/{slug}"), or "unmatched".

    Routing leaves the route it chose in the scope, with its path relative to the router it was
    included into; the segments the request's path has beyond it are that router's prefix.
    """
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return UNMATCHED
    if isinstance(route, Mount):
        return template + "/{path}"
    path: str = scope["path"]
    extra = path.count("/") - template.count("/")
    if extra <= 0:
        return template
    return "/".join(path.split("/", extra + 1)[: extra + 1]) + template


def _request_id(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"x-request-id" and _GIVEN_ID.match(value):
            return bytes(value)
    # unique enough to find a line, and cheap; an id is no secret, so no system randomness
    return b"%016x" % random.getrandbits(64)
