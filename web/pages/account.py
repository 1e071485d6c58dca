"""Accounts on the web: the account page and API tokens; forecasting and disputing."""

from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session, col, select

from claims.errors import Conflict, DomainError
from claims.models import Claim
from claims.text import LongText, ShortText
from forecasts.accounts import (
    Principal,
    get_account,
    issue_token,
    revoke_token,
)
from forecasts.models import ApiToken, Standing
from forecasts.proposals import dispute_proposal
from forecasts.schemas import ForecastIn
from forecasts.submit import Accepted, Replayed, SubmitRequest
from web.api.paging import MAX_ID
from web.context import AppContext
from web.deps import Ctx, ReadSession, WriteSession
from web.pages.rendering import pct, render
from web.pages.routing import error_text, page_router, see_other
from web.pages.session import Form, Me, flash

router = page_router()
_short = TypeAdapter(ShortText)
_long = TypeAdapter(LongText)


def _problem(error: ValidationError) -> str:
    return "; ".join(str(item["msg"]) for item in error.errors())


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
        flash(request, f"Label: {_problem(error)}")
        return see_other("/account")
    account = get_account(session, me.handle)
    try:
        token = issue_token(session, account, now=ctx.clock(), label=label)
    except Conflict as error:
        flash(request, f"No token made: {error_text(error)}")
        return see_other("/account")
    response = _account(request, me.account_id, session, new_token=token)
    response.headers["Cache-Control"] = "no-store"  # the token is shown once: keep no copy
    return response


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


async def _append(
    ctx: AppContext, me: Principal, slug: str, probability: float | None, rationale: str | None
) -> str:
    """Submit or withdraw through the group committer, like the API; returns a notice."""
    if probability is not None and ctx.rate.retry_after(str(me.account_id)) is not None:
        return "Too many forecasts in a minute: wait a little and try again."
    assert ctx.committer is not None
    request = SubmitRequest(
        account_id=me.account_id,
        handle=me.handle,
        slug=slug,
        probability=probability,
        rationale=rationale,
    )
    outcome = await ctx.committer.outcome(request)
    if isinstance(outcome, DomainError):
        return f"Not recorded: {error_text(outcome)}"
    assert isinstance(outcome, Accepted | Replayed)
    if probability is None:
        return "Your forecast is withdrawn."
    return f"Your forecast of {pct(probability, 1)} is recorded in the ledger."


@router.post("/claims/{slug}/forecast")
async def post_forecast(request: Request, slug: str, ctx: Ctx, me: Me, form: Form) -> Response:
    text = form.get("percent", "").strip().rstrip("%").strip()
    rationale = form.get("rationale", "").strip() or None
    try:
        percent = float(text)
        body = ForecastIn.model_validate(
            {"probability": round(percent / 100, 6), "rationale": rationale}
        )
    except ValueError as error:  # pydantic's ValidationError is a ValueError too
        problem = _problem(error) if isinstance(error, ValidationError) else "not a number"
        flash(request, f"Not recorded: give a percentage from 0.1 to 99.9 ({problem}).")
        return see_other(f"/claims/{slug}#forecast")
    flash(request, await _append(ctx, me, slug, body.value, body.rationale))
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
        flash(request, f"Not sent: {_problem(error)}")
        return see_other(f"/claims/{slug}#resolution")
    dispute_proposal(
        session, slug, account_id=me.account_id, handle=me.handle, note=note, now=ctx.clock()
    )
    flash(request, "Dispute sent: the editors will decide the outcome.")
    return see_other(f"/claims/{slug}#resolution")
