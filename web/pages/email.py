"""Email on the site: the account page's settings, confirmation, one-click unsubscribe and
password reset by link (SPEC §9). Links are built from FORECAST_LEDGER_PUBLIC_URL only."""

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from claims.errors import DomainError
from forecasts.accounts.service import check_password, get_account
from forecasts.notify.email.addresses import (
    MODES,
    STREAMS,
    address_problem,
    confirm,
    confirmable,
    delete_address,
    set_address,
    settings_of,
    unsubscribe,
    update_settings,
    zone_problem,
)
from forecasts.notify.email.links import UNSUBSCRIBE, live_token
from forecasts.notify.email.models import EmailAddress
from forecasts.notify.email.texts import STREAM_NAMES
from web.api.email import EMAIL_OFF
from web.context import AppContext
from web.deps import Ctx, ReadSession, WriteSession
from web.pages.rendering import render
from web.pages.routing import error_page, error_text, page_router, see_other
from web.pages.session import Form, Me, Page, flash
from web.ratelimits import SlowDown

router = page_router()


def email_panel(session: Session, ctx: AppContext, account_id: int) -> dict[str, Any]:
    """What the account page shows about email."""
    row = session.get(EmailAddress, account_id) if ctx.settings.email_on else None
    return {
        "on": ctx.settings.email_on,
        "settings": settings_of(row) if row is not None else None,
        "streams": [(name, STREAM_NAMES[name]) for name in STREAMS],
        "modes": MODES,
    }


def _off(request: Request, ctx: AppContext) -> Response | None:
    if ctx.settings.email_on:
        return None
    return error_page(request, 409, f"Not available: {EMAIL_OFF}.")


@router.post("/account/email")
def post_address(request: Request, me: Me, form: Form, session: WriteSession, ctx: Ctx) -> Response:
    if (off := _off(request, ctx)) is not None:
        return off
    address = form.get("address", "").strip()[:300]
    if problem := address_problem(address):
        flash(request, f"Address not saved: it {problem}.")
        return see_other("/account#email")
    account = get_account(session, me.handle)
    if account.password_hash:
        try:
            with ctx.sign_ins.hashing():
                right = check_password(account, form.get("password", "")[:1000])
        except SlowDown as slow:
            flash(request, slow.message)
            return see_other("/account#email")
        if not right:
            flash(request, "Address not saved: the password is not right.")
            return see_other("/account#email")
    try:
        row = set_address(session, me.account_id, address, now=ctx.clock())
    except DomainError as error:
        flash(request, f"Address not saved: {error_text(error)}.")
        return see_other("/account#email")
    if row.confirmed_at is None:
        flash(request, f"A confirmation link is on its way to {address}.")
    return see_other("/account#email")


@router.post("/account/email/settings")
def post_settings(
    request: Request, me: Me, form: Form, session: WriteSession, ctx: Ctx
) -> Response:
    if (off := _off(request, ctx)) is not None:
        return off
    changes: dict[str, Any] = {
        "streams": {s: form[s] for s in STREAMS if form.get(s) in MODES},
        "tags": sorted({t.strip() for t in form.get("tags", "").split(",") if t.strip()})[:50],
    }
    zone = form.get("time_zone", "UTC").strip()[:64]
    try:
        changes["digest_hour"] = min(23, max(0, int(form.get("digest_hour", "8"))))
        changes["stale_after_days"] = min(3650, max(1, int(form.get("stale_after_days", "30"))))
    except ValueError:
        flash(request, "Not saved: the hour and the days are whole numbers.")
        return see_other("/account#email")
    if problem := zone_problem(zone):
        flash(request, f"Not saved: the time zone {problem}.")
        return see_other("/account#email")
    changes["time_zone"] = zone
    update_settings(session, me.account_id, changes)
    flash(request, "Email settings saved.")
    return see_other("/account#email")


@router.post("/account/email/delete")
def post_delete(request: Request, me: Me, form: Form, session: WriteSession, ctx: Ctx) -> Response:
    if (off := _off(request, ctx)) is not None:
        return off
    delete_address(session, me.account_id)
    flash(request, "Address removed: nothing more is sent to it.")
    return see_other("/account#email")


def _link_page(request: Request, title: str, text: str, action: str | None) -> Response:
    """A link's landing page: a button that POSTs (mail scanners only GET)."""
    context = {"title": title, "text": text, "action": action}
    response = render(request, "email_link.html", context)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token stays out of Referer
    return response


@router.get("/confirm/{token}", response_class=HTMLResponse)
def confirm_form(
    request: Request, token: str, page: Page, session: ReadSession, ctx: Ctx
) -> Response:
    address = confirmable(session, token, ctx.clock())
    text = f"Confirm that {address} may get email from this site."
    return _link_page(request, "Confirm your address", text, f"/confirm/{token}")


@router.post("/confirm/{token}", response_class=HTMLResponse)
def confirm_post(
    request: Request, token: str, page: Page, form: Form, session: WriteSession, ctx: Ctx
) -> Response:
    address = confirm(session, token, now=ctx.clock())
    return _link_page(request, "Address confirmed", f"{address} is confirmed.", None)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_form(request: Request, token: str, session: ReadSession, ctx: Ctx) -> Response:
    live_token(session, token, UNSUBSCRIBE, ctx.clock())
    text = "Stop the emails this link came with."
    return _link_page(request, "Unsubscribe", text, f"/unsubscribe/{token}")


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_post(request: Request, token: str, session: WriteSession, ctx: Ctx) -> Response:
    """RFC 8058 one-click: no sign-in, cookie or CSRF token; the link is the credential."""
    streams = unsubscribe(session, token, now=ctx.clock())
    named = ", ".join(STREAM_NAMES[s].lower() for s in streams) or "nothing"
    return _link_page(request, "Unsubscribed", f"Turned off: {named}.", None)
