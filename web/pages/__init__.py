"""The public site and the editors' desk: server-rendered pages, no script."""

import inspect
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from web.pages import (
    account,
    claimants,
    desk,
    desk_claimants,
    email,
    feeds,
    public,
    reset,
    signin,
)
from web.pages.routing import error_page
from web.pages.session import COOKIE, MAX_AGE, session_secret
from web.settings import Settings

STATIC = Path(__file__).parent / "static"


class PagesOnlySessions:
    """Session cookies serve the pages; API requests (bearer tokens) skip them entirely, which
    keeps the cookie machinery off the forecast-submission hot path. A page served over HTTPS
    always gets a `Secure` cookie, whatever `secure_cookies` says."""

    def __init__(self, app: ASGIApp, /, **options: Any) -> None:
        self.app = app
        self.sessions = SessionMiddleware(app, **options)
        self.secure_sessions = SessionMiddleware(app, **{**options, "https_only": True})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
        elif scope.get("scheme") in ("https", "wss"):
            await self.secure_sessions(scope, receive, send)
        else:
            await self.sessions(scope, receive, send)


_PAGE_ERRORS = {
    404: "There is no page at this address.",
    405: "This address does not take that kind of request.",
}


def _html_not_found(app: FastAPI) -> None:
    """A browser asking for an address that does not exist (or with a method it does not
    take) gets a page; programs and the API keep JSON."""
    json_handler = app.exception_handlers[StarletteHTTPException]

    async def not_found(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        wants_page = "text/html" in request.headers.get("accept", "")
        message = _PAGE_ERRORS.get(error.status_code)
        if message and wants_page and not request.url.path.startswith("/api/"):
            response = error_page(request, error.status_code, message)
            if error.headers:  # a 405 names the methods it takes (Allow)
                response.headers.update(error.headers)
            return response
        json_response = json_handler(request, error)
        if inspect.isawaitable(json_response):
            json_response = await json_response
        assert isinstance(json_response, Response)
        return json_response

    app.add_exception_handler(StarletteHTTPException, not_found)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the pages, their stylesheet and the signed session cookie to the app."""
    for module in (public, claimants, signin, account, desk, desk_claimants, feeds, email, reset):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _html_not_found(app)
    app.add_middleware(
        PagesOnlySessions,
        secret_key=session_secret(settings),
        session_cookie=COOKIE,
        max_age=MAX_AGE,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
