"""A fast lane for the hottest request: well-formed forecast submissions.

FastAPI's routing and dependency injection cost several times more CPU than storing a
forecast does. This ASGI middleware recognises `POST /api/v1/claims/{slug}/forecasts` from a
caller whose token is already cached, validates the body with the same `ForecastIn` model and
hands it to the same `submit_or_withdraw` the FastAPI route uses. Anything else, including
every request that would get an error from validation or authentication, goes on to FastAPI
untouched (with its body replayed), so there is one owner of each error response and of the
OpenAPI description.
"""

import re
from typing import Any

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from claims.text import SLUG_PATTERN
from forecasts.accounts import hash_token
from forecasts.schemas import ForecastIn
from web.api.forecasts import submit_or_withdraw
from web.context import AppContext

_PATH = re.compile(r"^/api/v1/claims/([a-z0-9-]{1,120})/forecasts$")
_SLUG = re.compile(SLUG_PATTERN)
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
_MAX_BODY = 64 * 1024


class SubmitFastPath:
    def __init__(self, app: ASGIApp, context: AppContext) -> None:
        self.app = app
        self.ctx = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        match = _PATH.match(scope["path"])
        if match is None or not _SLUG.match(match.group(1)):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        body, complete = await _read_body(receive)
        accepted = await self._try(match.group(1), headers, body) if complete else None
        if accepted is None:
            await self.app(scope, _replay(body, complete, receive), send)
            return
        await accepted(scope, receive, send)

    async def _try(self, slug: str, headers: dict[bytes, bytes], body: bytes) -> Any:
        auth = headers.get(b"authorization", b"")
        content_type = headers.get(b"content-type", b"")
        if not auth.startswith(b"Bearer ") or not content_type.startswith(b"application/json"):
            return None
        principal = self.ctx.cached_principal(hash_token(auth[7:].decode("latin-1").strip()))
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
        return await submit_or_withdraw(
            self.ctx, principal, slug, data.value, data.rationale, key_text
        )


def _headers(scope: Scope) -> dict[bytes, bytes]:
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in found:  # repeated headers: let the full stack judge
            found[b"content-type"] = b"repeated"
        found[name] = value
    return found


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The body and whether it is all there (False: too large, or the client went away)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > _MAX_BODY:
            return b"".join(chunks), False


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
