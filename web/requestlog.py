"""One log line per request, and its request metrics, around the whole app (fast lane included).

A line holds the time, the request id (also sent back as `X-Request-ID`), method, path (never
the query string), status and duration: no header, so never a token, password or cookie. Text
by default, JSON lines with `FORECAST_LEDGER_LOG_FORMAT=json`. Lines go to the
`forecast_ledger.requests` logger, which writes them to stderr unless the embedding program
configures logging itself.
"""

import json
import logging
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import quote

from starlette.routing import Mount
from starlette.types import Message, Receive, Scope, Send

from web import metrics

log = logging.getLogger("forecast_ledger.requests")

# an id from a proxy in front is kept (so its logs and ours join up) if it is this plain
_GIVEN_ID = re.compile(rb"^[A-Za-z0-9._:-]{8,64}$")
_PLAIN_PATH = re.compile(r"^[\x21-\x7e]*$")
UNMATCHED = "unmatched"

App = Callable[[Scope, Receive, Send], Awaitable[None]]


class _Stderr(logging.Handler):
    """Writes to whatever `sys.stderr` is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(record.getMessage() + "\n")
            sys.stderr.flush()
        except Exception:  # a closed stream: logging must never fail a request
            self.handleError(record)


def configure() -> None:
    """Send request lines to stderr, once per process, unless a handler is already there."""
    if not log.handlers and not logging.getLogger().handlers:
        log.addHandler(_Stderr())
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)


class RequestLog:
    def __init__(self, log_format: str) -> None:
        self.json = log_format == "json"
        configure()

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: App) -> None:
        started = time.perf_counter()
        request_id = _request_id(scope)
        status = 500  # unless a response starts: the server answers a crash with a 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (b"x-request-id", request_id)]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            metrics.observe_request(scope["method"], route_label(scope), status, seconds)
            if log.isEnabledFor(logging.INFO):
                log.info(self.line(scope, request_id.decode(), status, seconds))

    def line(self, scope: Scope, request_id: str, status: int, seconds: float) -> str:
        at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        path = scope["path"]
        ms = round(seconds * 1000, 2)
        if self.json:
            fields = {"time": at, "request_id": request_id, "method": scope["method"]}
            fields.update(path=path, status=status, duration_ms=ms)
            return json.dumps(fields)
        if not _PLAIN_PATH.match(path):  # spaces, quotes, newlines: one line, unambiguous
            path = quote(path, safe="/")
        return f"{at} {request_id} {scope['method']} {path} {status} {ms}ms"


def route_label(scope: Scope) -> str:
    """The matched route's full template ("/api/v1/claims/{slug}"), or "unmatched".

    Routing leaves the route it chose in the scope, with its path relative to the router it was
    included into; the segments the request's path has beyond it are that router's prefix.
    """
    route = scope.get("route")
    template = getattr(route, "path", None)
    if template is None:
        return UNMATCHED
    if isinstance(route, Mount):
        return template + "/{path}"
    extra = scope["path"].count("/") - template.count("/")
    if extra <= 0:
        return str(template)
    return "/".join(scope["path"].split("/", extra + 1)[: extra + 1]) + template


def _request_id(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return value if _GIVEN_ID.match(value) else os.urandom(8).hex().encode()
    return os.urandom(8).hex().encode()
