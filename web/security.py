"""Security headers on every response, pages and API alike.

The pages carry no script and no inline style, so the Content-Security-Policy is strict. The
interactive API docs (`/docs`, `/redoc`) are FastAPI's: they load their script from a CDN and
start it inline, so those two pages (and the docs' OAuth2 redirect) get every header here but
the CSP (see docs/decisions.md). With secure cookies on (the site is served over HTTPS),
every answer also carries HSTS, so browsers never try plain http first.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
CSP_EXEMPT = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
_CSP = (b"content-security-policy", CONTENT_SECURITY_POLICY.encode())
HSTS = (b"strict-transport-security", b"max-age=31536000")  # a year, this host only


def headers_for(path: str, *, hsts: bool = False) -> list[tuple[bytes, bytes]]:
    """The security headers a response to `path` carries."""
    found = list(HEADERS) if path in CSP_EXEMPT else [*HEADERS, _CSP]
    return [*found, HSTS] if hsts else found


class SecurityHeaders:
    """Pure ASGI middleware adding the headers above unless a response set its own."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope["path"], hsts=self.hsts)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in extra if item[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
