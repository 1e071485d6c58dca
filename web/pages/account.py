"""Accounts on the web: the account page and API tokens; forecasting and disputing."""

from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session, col, select

from claims.errors import Conflict, DomainError
from claims.models import Claim
from claims.text import LongText, ShortText
from forecasts.accounts.service import (
    Principal,
    get_account,
    issue_token,
    revoke_token,
    sees_drafts,
)
from forecasts.ledger.models import ApiToken, Standing
from forecasts.notify.webhooks import list_webhooks
from forecasts.resolution.proposals import dispute_proposal
from forecasts.submit.schemas import ForecastIn
from forecasts.submit.service import Accepted, Replayed, SubmitRequest
from web.api.claims import visible_claim
from web.api.paging import MAX_ID
from web.context import AppContext
from web.deps import Ctx, ReadSession, WriteSession
from web.pages.email import email_panel
from web.pages.rendering import percent, render
from web.pages.routing import error_text, page_router, plain_problems, see_other
from web.pages.session import Form, Me, flash

router = page_router()
_short = TypeAdapter(ShortText)
_long = TypeAdapter(LongText)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, me: Me, session: ReadSession, ctx: Ctx) -> Response:
    return _account(request, me.account_id, session, ctx, new_token=None)


def _account(
    request: Request, account_id: int, session: Session, ctx: AppContext, new_token: str | None
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
        "webhooks": list_webhooks(session, account_id),
        "new_token": new_token,
        "email": email_panel(session, ctx, account_id),
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
    try:
        token = issue_token(session, account, now=ctx.clock(), label=label)
    except Conflict as error:
        flash(request, f"No token made: {error_text(error)}")
        return see_other("/account")
    response = _account(request, me.account_id, session, ctx, new_token=token)
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
    dispute_proposal(
        session, slug, account_id=me.account_id, handle=me.handle, note=note, now=ctx.clock()
    )
    flash(request, "Dispute sent: the editors will decide the outcome.")
    return see_other(f"/claims/{slug}#resolution")
