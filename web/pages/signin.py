"""Signing up, in and out, changing the password, ending sessions.

Every route here that hashes a password (argon2id: slow and memory-hungry on purpose) goes
through `ctx.sign_ins` first (web/ratelimits.py): per-address and total rates, then a turn at
hashing; past either, a 429 page with `Retry-After`. Wrong passwords are counted per handle
and client address in the database, before the password is checked (web/pages/throttle.py).
"""

from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import TypeAdapter, ValidationError
from sqlmodel import select

from claims.errors import Conflict, DomainError, Invalid
from claims.text import Handle
from forecasts.accounts.service import (
    check_password,
    create_account,
    end_sessions,
    get_account,
    hash_password,
    password_problem,
    replace_password_hash,
)
from forecasts.ledger.models import Account
from forecasts.ledger.roles import Role
from web.deps import Ctx, ReadSession, WriteSession
from web.pages.rendering import render
from web.pages.routing import error_text, page_router, see_other
from web.pages.session import Form, Me, Page, flash, sign_in, sign_out
from web.pages.throttle import FailedSignIns
from web.ratelimits import SlowDown

router = page_router()
_handle = TypeAdapter(Handle)
_failed = FailedSignIns()


def client_address(request: Request) -> str:
    """The connection's peer address (behind a reverse proxy: the proxy's)."""
    return request.client.host if request.client is not None else ""


def _local(target: str | None) -> str:
    """Only same-site paths are followed after signing in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@lru_cache(maxsize=1)
def _decoy() -> Account:
    """An account with a real hash, so an unknown handle costs as long as a wrong password."""
    from argon2 import PasswordHasher

    digest = PasswordHasher().hash("decoy")
    return Account(
        handle="", role=Role.FORECASTER, password_hash=digest, created_at=datetime.now(UTC)
    )


def _too_many(request: Request, name: str, context: dict[str, str], slow: SlowDown) -> Response:
    response = render(request, name, {**context, "error": slow.message}, status_code=429)
    response.headers["Retry-After"] = str(slow.retry_after)
    return response


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request, page: Page) -> Response:
    return render(request, "signup.html", {"error": None, "handle": ""})


@router.post("/signup", response_class=HTMLResponse)
def signup(request: Request, page: Page, form: Form, session: WriteSession, ctx: Ctx) -> Response:
    handle, password = form.get("handle", "").strip(), form.get("password", "")
    context = {"handle": form.get("handle", "")}
    error = None
    try:
        handle = _handle.validate_python(handle)
    except ValidationError:
        error = "A handle is 1 to 40 lower-case letters, digits and single hyphens, like 'ana-b'."
    problem = None if error else password_problem(password, handle=handle)
    if problem is not None:
        error = f"Choose another password: it {problem}."
    if error is None:
        try:
            ctx.sign_ins.admit(client_address(request))
            with ctx.sign_ins.hashing():
                digest = hash_password(password, handle=handle)
            account = create_account(
                session,
                handle,
                role=Role.FORECASTER,
                now=ctx.clock(),
                password_hash=digest,
                self_chosen=True,
            )
        except SlowDown as slow:
            return _too_many(request, "signup.html", context, slow)
        except Conflict:
            error = "That handle is taken."
        except Invalid:
            error = "That handle is reserved: it could pass for @crowd or for the site's staff."
    if error is not None:
        return render(request, "signup.html", {**context, "error": error}, status_code=422)
    sign_in(request, account)
    flash(request, f"Welcome, {account.handle}. You can forecast on any open claim.")
    return see_other("/")


@router.get("/signin", response_class=HTMLResponse)
def signin_form(
    request: Request, page: Page, next: Annotated[str | None, Query(max_length=500)] = None
) -> Response:
    context = {"error": None, "handle": "", "next": _local(next)}
    return render(request, "signin.html", context)


@router.post("/signin", response_class=HTMLResponse)
def signin(request: Request, page: Page, form: Form, session: ReadSession, ctx: Ctx) -> Response:
    handle, password = form.get("handle", "").strip()[:40], form.get("password", "")[:1000]
    context = {"handle": form.get("handle", ""), "next": _local(form.get("next"))}
    client = client_address(request)
    try:
        ctx.sign_ins.admit(client)
        attempt = _failed.attempt(ctx.db, handle, client, ctx.clock())
    except SlowDown as slow:
        return _too_many(request, "signin.html", context, slow)
    account = session.exec(select(Account).where(Account.handle == handle)).first()
    try:
        with ctx.sign_ins.hashing():
            right = check_password(account or _decoy(), password) and account is not None
    except SlowDown as slow:
        _failed.forget(ctx.db, attempt)  # never checked
        return _too_many(request, "signin.html", context, slow)
    if account is None or not right:
        context["error"] = "Wrong handle or password."
        return render(request, "signin.html", context, status_code=401)
    _failed.forget(ctx.db, attempt)
    sign_in(request, account)
    return see_other(context["next"])


@router.post("/signout")
def signout(request: Request, page: Page, form: Form, ctx: Ctx) -> Response:
    """Sign out: the account's sessions end on the server, so no copy of the cookie lives on.

    The cookie holds no session id, only the account's session epoch, so this ends the
    account's other sessions too (as "sign out everywhere" does).
    """
    if page.me is None:
        sign_out(request)
    else:
        _end_sessions(request, ctx, page.me.handle, keep_this=False)
    return see_other("/")


def _end_sessions(request: Request, ctx: Ctx, handle: str, *, keep_this: bool) -> None:
    with ctx.db.writing() as writing:
        account = get_account(writing, handle)
        end_sessions(writing, account)
    if keep_this:
        sign_in(request, account)  # this session goes on, in the new epoch
    else:
        sign_out(request)


@router.post("/account/password")
def change_password(
    request: Request, me: Me, form: Form, session: ReadSession, ctx: Ctx
) -> Response:
    """A new password (the current one first); every other session of the account ends."""
    account = get_account(session, me.handle)
    client = client_address(request)
    try:
        attempt = _failed.attempt(ctx.db, me.handle, client, ctx.clock())
    except SlowDown as slow:
        flash(request, slow.message)
        return see_other("/account#password")
    try:
        with ctx.sign_ins.hashing():
            right = check_password(account, form.get("current", "")[:1000])
    except SlowDown as slow:
        _failed.forget(ctx.db, attempt)  # never checked
        flash(request, slow.message)
        return see_other("/account#password")
    if not right:
        flash(request, "Password not changed: the current password is not right.")
        return see_other("/account#password")
    _failed.forget(ctx.db, attempt)
    new = form.get("new", "")
    if new != form.get("again", ""):
        flash(request, "Password not changed: the two new passwords differ.")
        return see_other("/account#password")
    try:
        with ctx.sign_ins.hashing():
            digest = hash_password(new, handle=me.handle)  # slow: before the write lock
    except (DomainError, SlowDown) as error:
        text = error.message if isinstance(error, SlowDown) else error_text(error)
        flash(request, f"Password not changed: {text}")
        return see_other("/account#password")
    with ctx.db.writing() as writing:
        account = get_account(writing, me.handle)
        replace_password_hash(writing, account, digest)
        sign_in(request, account)  # this session goes on, in the new epoch
    flash(request, "Password changed. Every other session is signed out.")
    return see_other("/account")


@router.post("/account/sessions/end")
def end_other_sessions(request: Request, me: Me, form: Form, ctx: Ctx) -> Response:
    """Sign out every other browser: the account's sessions move to a new epoch."""
    _end_sessions(request, ctx, me.handle, keep_this=True)
    flash(request, "Every other session is signed out.")
    return see_other("/account")
