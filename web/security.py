"""Security headers on every response, pages, API and the API docs alike.

The pages carry no script and no inline style, and the API docs (web/apidocs) start Swagger UI
from a served file, so one strict Content-Security-Policy fits every answer; the pages send a
stricter one of their own (`PAGE_HEADERS`, declared here beside it). With secure
cookies on (the site is served over HTTPS), every answer also carries HSTS, so browsers never
try plain http first.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# No script runs on the pages, inline or not; styles come from our one stylesheet.
PAGE_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
HEADERS: list[tuple[bytes, bytes]] = [
    *((name.lower().encode(), value.encode()) for name, value in _COMMON.items()),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
]
# what every HTML page sets itself (the middleware then adds only HSTS)
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CONTENT_SECURITY_POLICY, **_COMMON}
HSTS = (b"strict-transport-security", b"max-age=31536000")  # a year, this host only


def headers_for(*, hsts: bool = False) -> list[tuple[bytes, bytes]]:
    """The security headers every response carries."""
    return [*HEADERS, HSTS] if hsts else list(HEADERS)


class SecurityHeaders:
    """Pure ASGI middleware adding the headers above unless a response set its own."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(hsts=self.hsts)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in extra if item[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
