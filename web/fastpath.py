"""A fast lane for the hottest request: well-formed forecast submissions.

FastAPI's middleware stack, routing and dependency injection cost several times more CPU
than storing a forecast does. `LedgerAPI` (the app `create_app` builds) looks at each request
before any of that: `POST /api/v1/claims/{slug}/forecasts` with a token the app has
authenticated before (`AppContext.lane_tokens`; the writer re-checks it in the storing
transaction) and a JSON body within the size cap is validated with the same `ForecastIn`
model, handed to the same `decide_submission` the FastAPI route uses and answered here, with
the same bytes and headers the full stack would send. Anything else, including every request
that would get an error from validation or authentication, goes on to FastAPI untouched (with
its body replayed), so there is one owner of each error response and of the OpenAPI
description. The request log and request metrics (web/requestlog.py) wrap both lanes here.
"""

import logging
import re
from types import SimpleNamespace
from typing import Any

from fastapi import FastAPI
from pydantic import ValidationError
from starlette.types import Message, Receive, Scope, Send

from claims.text import SLUG_PATTERN
from forecasts.accounts.service import hash_token
from forecasts.submit.schemas import ForecastIn
from web.api.forecasts import Decision, decide_submission
from web.context import AppContext
from web.hosts import HostCheck
from web.requestlog import RequestLog
from web.security import headers_for

log = logging.getLogger(__name__)

_PATH = re.compile(r"^/api/v1/claims/([a-z0-9-]{1,120})/forecasts$")
_SLUG = re.compile(SLUG_PATTERN)
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
_LANE_MAX_BODY = 64 * 1024
# the route the log and the metrics name for submissions the lane answers
LANE_ROUTE = SimpleNamespace(path="/api/v1/claims/{slug}/forecasts")
# what Starlette's ServerErrorMiddleware answers when the full stack fails unexpectedly
_FAILED = Decision(500, b"Internal Server Error", media_type=b"text/plain; charset=utf-8")


class LedgerAPI(FastAPI):
    """FastAPI with the request log and the submission fast lane in front of its whole stack."""

    fast_lane: "SubmitFastLane | None" = None
    host_check: HostCheck | None = None  # with FORECAST_LEDGER_PUBLIC_URL: web/hosts.py
    request_log: RequestLog | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.request_log is not None:
            await self.request_log(scope, receive, send, self._dispatch)
            return
        await self._dispatch(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        check = self.host_check
        if check is not None and scope["type"] == "http" and not check.allows(scope):
            await check.refuse(send)
            return
        lane = self.fast_lane
        if (
            lane is not None
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and not scope.get("query_string")
        ):
            match = _PATH.match(scope["path"])
            if match is not None and _SLUG.match(match.group(1)):
                scope["route"] = LANE_ROUTE  # routing replaces it if the full stack answers
                await lane.handle(match.group(1), scope, receive, send, super().__call__)
                return
        await super().__call__(scope, receive, send)


class SubmitFastLane:
    def __init__(self, context: AppContext, max_body: int) -> None:
        self.ctx = context
        self.max_body = min(max_body, _LANE_MAX_BODY)
        self.security = headers_for(hsts=context.settings.secure_cookies)

    async def handle(
        self, slug: str, scope: Scope, receive: Receive, send: Send, full_stack: Any
    ) -> None:
        headers = _headers(scope)
        declared = headers.get(b"content-length")
        if declared is not None and not (declared.isdigit() and int(declared) <= self.max_body):
            await full_stack(scope, receive, send)  # the full stack owns the 413 (and oddities)
            return
        body, complete = await _read_body(receive, self.max_body)
        try:
            decision = await self._try(slug, headers, body) if complete else None
        except Exception:  # the database is down, say: nothing was stored
            log.exception("a submission failed")
            decision = _FAILED
        if decision is None:
            await full_stack(scope, _replay(body, complete, receive), send)
            return
        response_headers = [
            (b"content-type", decision.media_type),
            (b"content-length", str(len(decision.body)).encode()),
            *decision.headers,
            *self.security,
        ]
        await send(
            {"type": "http.response.start", "status": decision.status, "headers": response_headers}
        )
        await send({"type": "http.response.body", "body": decision.body})

    async def _try(self, slug: str, headers: dict[bytes, bytes], body: bytes) -> Decision | None:
        auth = headers.get(b"authorization", b"")
        content_type = headers.get(b"content-type", b"")
        if not auth.startswith(b"Bearer ") or not content_type.startswith(b"application/json"):
            return None
        principal = self.ctx.lane_principal(hash_token(auth[7:].decode("latin-1").strip()))
        if principal is None:
            return None
        key = headers.get(b"idempotency-key")
        key_text = None
        if key is not None:
            key_text = key.decode("latin-1")
            if not _KEY.match(key_text):
                return None
        try:
            data = ForecastIn.model_validate_json(body)
        except ValidationError:
            return None
        return await decide_submission(self.ctx, principal, slug, data, key_text)


def _headers(scope: Scope) -> dict[bytes, bytes]:
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in found:  # repeated headers: let the full stack judge
            found[b"content-type"] = b"repeated"
        found[name] = value
    return found


async def _read_body(receive: Receive, cap: int) -> tuple[bytes, bool]:
    """The body and whether it is all there (False: over `cap`, or the client went away)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            return b"".join(chunks), False
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A receive that gives the inner app the body already read, then carries on."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replay
