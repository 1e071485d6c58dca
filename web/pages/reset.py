"""Password reset by email (SPEC §9): /reset takes a handle; /reset/{token} sets a password.

/reset answers the same way, in the same time, whatever the handle: the work is queued (the
worker sends the email) and the answer waits out a fixed time. Setting the password ends
every session of the account and signs nobody in.
"""

import asyncio
import time

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from claims.errors import DomainError
from forecasts.accounts.service import hash_password
from forecasts.notify.email.reset import request_reset, reset_account, use_reset
from web.deps import Ctx, ReadSession
from web.pages.rendering import render
from web.pages.routing import error_text, page_router, see_other
from web.pages.session import Form, Page, flash
from web.pages.signin import client_address
from web.ratelimits import SlowDown

router = page_router()
ANSWER_SECONDS = 0.25  # /reset answers no sooner, whatever it found
SENT = (
    "If that account has a confirmed email address, a link to set a new password is on its "
    "way to it. The link works once, for an hour."
)


def _page(request: Request, ctx: Ctx, **context: object) -> Response:
    base = {"on": ctx.settings.email_on, "notice": None, "error": None, "handle": ""}
    response = render(request, "reset.html", {**base, **context})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/reset", response_class=HTMLResponse)
def reset_form(request: Request, page: Page, ctx: Ctx) -> Response:
    return _page(request, ctx)


@router.post("/reset", response_class=HTMLResponse)
async def reset_ask(request: Request, page: Page, form: Form, ctx: Ctx) -> Response:
    started = time.monotonic()
    if not ctx.settings.email_on:
        return _page(request, ctx)
    try:
        ctx.sign_ins.admit(client_address(request))
    except SlowDown as slow:
        response = _page(request, ctx, error=slow.message)
        response.status_code, response.headers["Retry-After"] = 429, str(slow.retry_after)
        return response
    handle = form.get("handle", "").strip()[:40]

    def ask() -> None:
        with ctx.db.writing() as session:
            request_reset(session, handle, now=ctx.clock())

    await run_in_threadpool(ask)
    await asyncio.sleep(max(0.0, started + ANSWER_SECONDS - time.monotonic()))
    return _page(request, ctx, notice=SENT)


def _password_page(request: Request, token: str, handle: str, error: str | None) -> Response:
    context = {"token": token, "handle": handle, "error": error}
    response = render(request, "reset_password.html", context, status_code=422 if error else 200)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token stays out of Referer
    return response


@router.get("/reset/{token}", response_class=HTMLResponse)
def new_password_form(
    request: Request, token: str, page: Page, session: ReadSession, ctx: Ctx
) -> Response:
    account = reset_account(session, token, ctx.clock())
    return _password_page(request, token, account.handle, None)


@router.post("/reset/{token}", response_class=HTMLResponse)
def new_password(
    request: Request, token: str, page: Page, form: Form, session: ReadSession, ctx: Ctx
) -> Response:
    account = reset_account(session, token, ctx.clock())
    new = form.get("new", "")[:1000]
    if new != form.get("again", ""):
        return _password_page(request, token, account.handle, "The two passwords differ.")
    try:
        with ctx.sign_ins.hashing():
            digest = hash_password(new, handle=account.handle)  # slow: before the write lock
    except (DomainError, SlowDown) as error:
        text = error.message if isinstance(error, SlowDown) else error_text(error)
        return _password_page(request, token, account.handle, f"Choose another: {text}")
    with ctx.db.writing() as writing:
        use_reset(writing, token, digest, now=ctx.clock())
    flash(request, "Your password is set, and every session of the account has ended: sign in.")
    return see_other("/signin")
