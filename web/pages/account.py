"""Accounts on the web: sign up, sign in and out, API tokens; forecasting and disputing."""

from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session, col, select

from claims.errors import Conflict, DomainError, Invalid
from claims.models import Claim
from claims.text import Handle, LongText, ShortText
from forecasts.accounts import (
    MIN_PASSWORD_LENGTH,
    Principal,
    check_password,
    create_account,
    end_sessions,
    get_account,
    hash_password,
    issue_token,
    replace_password_hash,
    revoke_token,
    sees_drafts,
)
from forecasts.models import FORECASTER, Account, ApiToken, Standing
from forecasts.proposals import dispute_proposal
from forecasts.schemas import ForecastIn
from forecasts.submit import Accepted, Replayed, SubmitRequest
from web.api.claims import visible_claim
from web.api.paging import MAX_ID
from web.context import AppContext
from web.deps import Ctx, ReadSession, WriteSession
from web.pages.rendering import percent, render
from web.pages.routing import error_text, page_router, plain_problems, see_other
from web.pages.session import Form, Me, Page, flash, sign_in, sign_out
from web.pages.throttle import FailedSignIns

router = page_router()
MIN_PASSWORD = MIN_PASSWORD_LENGTH
_handle = TypeAdapter(Handle)
_short = TypeAdapter(ShortText)
_long = TypeAdapter(LongText)
_failed = FailedSignIns()


def _local(target: str | None) -> str:
    """Only same-site paths are followed after signing in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@lru_cache(maxsize=1)
def _decoy() -> Account:
    """An account with a real hash, so an unknown handle costs as long as a wrong password."""
    from argon2 import PasswordHasher

    return Account(
        handle="",
        role=FORECASTER,
        password_hash=PasswordHasher().hash("decoy"),
        created_at=datetime.now(UTC),
    )


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request, page: Page) -> Response:
    return render(request, "signup.html", {"error": None, "handle": ""})


@router.post("/signup", response_class=HTMLResponse)
def signup(request: Request, page: Page, form: Form, session: WriteSession, ctx: Ctx) -> Response:
    handle, password = form.get("handle", "").strip(), form.get("password", "")
    error = None
    try:
        handle = _handle.validate_python(handle)
    except ValidationError:
        error = "A handle is 1 to 40 lower-case letters, digits and single hyphens, like 'ana-b'."
    if error is None and not MIN_PASSWORD <= len(password) <= 1000:
        error = f"Choose a password of at least {MIN_PASSWORD} characters."
    if error is None:
        try:
            account = create_account(
                session,
                handle,
                role=FORECASTER,
                now=ctx.clock(),
                password=password,
                self_chosen=True,
            )
        except Conflict:
            error = "That handle is taken."
        except Invalid:
            error = "That handle is reserved: it could pass for @crowd or for the site's staff."
    if error is not None:
        context = {"error": error, "handle": form.get("handle", "")}
        return render(request, "signup.html", context, status_code=422)
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
    wait = _failed.wait(session.connection(), handle, ctx.clock())
    if wait:
        message = f"Too many wrong passwords: try again in {wait} s."
        return _signin_error(request, form, message, 429)
    account = session.exec(select(Account).where(Account.handle == handle)).first()
    if account is None or not check_password(account, password):
        if account is None:
            check_password(_decoy(), password)
        _failed.failed(ctx.db, handle, ctx.clock())
        return _signin_error(request, form, "Wrong handle or password.", 401)
    sign_in(request, account)
    return see_other(_local(form.get("next")))


def _signin_error(request: Request, form: dict[str, str], error: str, status: int) -> Response:
    context = {
        "error": error,
        "handle": form.get("handle", ""),
        "next": _local(form.get("next")),
    }
    return render(request, "signin.html", context, status_code=status)


@router.post("/signout")
def signout(request: Request, page: Page, form: Form) -> Response:
    sign_out(request)
    return see_other("/")


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, me: Me, session: ReadSession) -> Response:
    return _account(request, me.account_id, session, new_token=None)


def _account(
    request: Request, account_id: int, session: Session, new_token: str | None
) -> Response:
    tokens = session.exec(
        select(ApiToken).where(ApiToken.account_id == account_id).order_by(col(ApiToken.id).desc())
    )
    standing = session.exec(
        select(Claim.slug, Claim.title, Standing.probability, Standing.at)
        .join(Claim, col(Claim.id) == Standing.claim_id)
        .where(Standing.account_id == account_id, col(Standing.probability).is_not(None))
        .order_by(col(Standing.at).desc())
        .limit(200)
    )
    context = {
        "tokens": list(tokens),
        "new_token": new_token,
        "standing": [
            {"slug": slug, "title": title, "probability": probability, "at": at}
            for slug, title, probability, at in standing
        ],
    }
    return render(request, "account.html", context)


@router.post("/account/tokens", response_class=HTMLResponse)
def new_token(request: Request, me: Me, form: Form, session: WriteSession, ctx: Ctx) -> Response:
    try:
        label = _short.validate_python(form.get("label", "").strip()[:100])
    except ValidationError as error:
        flash(request, f"No token made. {plain_problems(error.errors(), 'label')}")
        return see_other("/account")
    account = get_account(session, me.handle)
    token = issue_token(session, account, now=ctx.clock(), label=label)
    return _account(request, me.account_id, session, new_token=token)


@router.post("/account/tokens/{token_id}/revoke")
def revoke(
    request: Request,
    token_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    me: Me,
    form: Form,
    session: WriteSession,
    ctx: Ctx,
) -> Response:
    revoke_token(session, token_id, account_id=me.account_id, now=ctx.clock())
    ctx.forget_tokens()
    flash(request, "Token revoked: it no longer works.")
    return see_other("/account")


@router.post("/account/password")
def change_password(
    request: Request, me: Me, form: Form, session: ReadSession, ctx: Ctx
) -> Response:
    """A new password (the current one first); every other session of the account ends."""
    account = get_account(session, me.handle)
    if _failed.wait(session.connection(), me.handle, ctx.clock()):
        flash(request, "Too many wrong passwords: try again in a minute.")
        return see_other("/account#password")
    if not check_password(account, form.get("current", "")[:1000]):
        _failed.failed(ctx.db, me.handle, ctx.clock())
        flash(request, "Password not changed: the current password is not right.")
        return see_other("/account#password")
    new = form.get("new", "")
    if new != form.get("again", ""):
        flash(request, "Password not changed: the two new passwords differ.")
        return see_other("/account#password")
    try:
        digest = hash_password(new)  # slow: before the write lock
    except DomainError as error:
        flash(request, f"Password not changed: {error_text(error)}")
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
    with ctx.db.writing() as writing:
        account = get_account(writing, me.handle)
        end_sessions(writing, account)
        sign_in(request, account)
    flash(request, "Every other session is signed out.")
    return see_other("/account")


async def _append(
    ctx: AppContext, me: Principal, slug: str, probability: float | None, rationale: str | None
) -> str:
    """Submit or withdraw through the group committer, like the API; returns a notice."""
    if probability is not None and ctx.rate.retry_after(f"page:{me.account_id}") is not None:
        return "Too many forecasts in a minute: wait a little and try again."
    assert ctx.committer is not None
    request = SubmitRequest(
        account_id=me.account_id,
        handle=me.handle,
        slug=slug,
        probability=probability,
        rationale=rationale,
        sees_drafts=sees_drafts(me),
    )
    outcome = await ctx.committer.outcome(request)
    if isinstance(outcome, DomainError):
        return f"Not recorded: {error_text(outcome)}"
    assert isinstance(outcome, Accepted | Replayed)
    if probability is None:
        return "Your forecast is withdrawn."
    return f"Your forecast of {percent(probability)} is recorded in the ledger."


_ASK_PROBABILITY = "Give a percentage from 0.1 to 99.9 (like 62.5) or odds (like 3:1)."


def _forecast_in(text: str, rationale: str | None) -> ForecastIn:
    """The form's percentage ('62.55', '62.55%') or odds ('3:1', as the API takes them)."""
    if ":" in text:
        return ForecastIn.model_validate({"odds": text, "rationale": rationale})
    # a ValueError if it is not a number; rounded so that 99.9 is 0.999, not 0.9990000000000001
    share = round(float(text.removesuffix("%")) / 100, 6)
    return ForecastIn.model_validate({"probability": share, "rationale": rationale})


@router.post("/claims/{slug}/forecast")
async def post_forecast(request: Request, slug: str, ctx: Ctx, me: Me, form: Form) -> Response:
    text = form.get("percent", "").strip()[:40]
    rationale = form.get("rationale", "").strip() or None
    try:
        body = _forecast_in(text, rationale)
    except ValidationError as error:
        wrong = [item for item in error.errors() if item["loc"][:1] == ("rationale",)]
        flash(request, f"Not recorded. {plain_problems(wrong) if wrong else _ASK_PROBABILITY}")
        return see_other(f"/claims/{slug}#forecast")
    except ValueError:
        flash(request, f"Not recorded. {_ASK_PROBABILITY}")
        return see_other(f"/claims/{slug}#forecast")
    # six decimals of probability, all `percent` shows: the notice says what the ledger holds
    probability = round(body.value, 6)
    flash(request, await _append(ctx, me, slug, probability, body.rationale))
    return see_other(f"/claims/{slug}#forecast")


@router.post("/claims/{slug}/withdraw")
async def post_withdraw(request: Request, slug: str, ctx: Ctx, me: Me, form: Form) -> Response:
    flash(request, await _append(ctx, me, slug, None, None))
    return see_other(f"/claims/{slug}#forecast")


@router.post("/claims/{slug}/dispute")
def post_dispute(
    request: Request, slug: str, me: Me, form: Form, session: WriteSession, ctx: Ctx
) -> Response:
    try:
        note = _long.validate_python(form.get("note", "").strip()) or None
    except ValidationError as error:
        flash(request, f"Not sent. {plain_problems(error.errors(), 'note')}")
        return see_other(f"/claims/{slug}#resolution")
    visible_claim(session, slug, me)  # a draft is an unknown slug, not a 409
    dispute_proposal(session, slug, handle=me.handle, note=note, now=ctx.clock())
    flash(request, "Dispute sent: the editors will decide the outcome.")
    return see_other(f"/claims/{slug}#resolution")
