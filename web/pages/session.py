"""Who is looking at a page: the signed session cookie, the signed-in account, CSRF tokens.

The session is a cookie signed with the `secret_key` setting (Starlette's SessionMiddleware,
itsdangerous underneath). It holds the account id and the CSRF token, never a secret: the
cookie is signed, not encrypted. Every form carries the CSRF token and every POST checks it.
"""

import logging
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from claims.errors import DomainError
from forecasts.accounts.service import Principal
from forecasts.ledger.models import Account
from forecasts.ledger.roles import Role
from web.deps import ReadSession
from web.settings import Settings

log = logging.getLogger(__name__)
COOKIE = "fl_session"
MAX_AGE = 14 * 24 * 3600


class SignInRequired(DomainError):
    """The page needs a signed-in account (answered with a redirect to the sign-in page)."""


class BadCsrfToken(DomainError):
    """A form came back without this session's CSRF token (403)."""


def session_secret(settings: Settings) -> str:
    """The configured secret, or a random one for this process (sessions end on restart)."""
    if settings.secret_key:
        return settings.secret_key
    log.warning(
        "FORECAST_LEDGER_SECRET_KEY is not set: using a random session key for this process; "
        "sign-ins end when it restarts and are not shared between processes"
    )
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class PageState:
    """The signed-in account (or None) and the session's CSRF token."""

    me: Principal | None
    csrf: str

    @property
    def is_editor(self) -> bool:
        return self.me is not None and self.me.role in (Role.EDITOR, Role.ADMIN)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def page_state(request: Request, session: ReadSession) -> PageState:
    me = None
    account_id = request.session.get("account")
    if isinstance(account_id, int):
        account = session.get(Account, account_id)
        epoch = request.session.get("epoch", 0)  # cookies from before 0008 carry none
        if account is not None and account.id is not None and epoch == account.session_epoch:
            me = Principal(account.id, account.handle, account.role)
        else:  # gone, or its sessions were ended (new password, "sign out everywhere")
            request.session.pop("account", None)
    state = PageState(me=me, csrf=csrf_token(request))
    request.state.page = state
    return state


def sign_in(request: Request, account: Account) -> None:
    """Start a fresh session for the account (a new CSRF token too)."""
    request.session.clear()
    request.session["account"] = account.id
    request.session["epoch"] = account.session_epoch
    csrf_token(request)


def sign_out(request: Request) -> None:
    request.session.clear()


def flash(request: Request, message: str) -> None:
    """A short notice shown on the next page (post, redirect, get)."""
    request.session["flash"] = message[:300]


def take_flash(request: Request) -> str | None:
    if "session" not in request.scope:  # an error page for a request the sessions skip
        return None
    message = request.session.pop("flash", None)
    return message if isinstance(message, str) else None


async def checked_form(request: Request) -> dict[str, str]:
    """The posted form's text fields, after checking its CSRF token."""
    form = await request.form()
    sent = form.get("csrf_token")
    expected = request.session.get("csrf")
    if not (isinstance(sent, str) and isinstance(expected, str)):
        raise BadCsrfToken("this form has expired: reload the page and try again")
    if not secrets.compare_digest(sent, expected):
        raise BadCsrfToken("this form has expired: reload the page and try again")
    return {key: value for key, value in form.items() if isinstance(value, str)}


Page = Annotated[PageState, Depends(page_state)]
Form = Annotated[dict[str, str], Depends(checked_form)]


def signed_in(page: Page) -> Principal:
    if page.me is None:
        raise SignInRequired("sign in to continue")
    return page.me


def signed_in_editor(me: Annotated[Principal, Depends(signed_in)]) -> Principal:
    me.require(Role.EDITOR)
    return me


def signed_in_admin(me: Annotated[Principal, Depends(signed_in)]) -> Principal:
    me.require(Role.ADMIN)
    return me


Me = Annotated[Principal, Depends(signed_in)]
EditorMe = Annotated[Principal, Depends(signed_in_editor)]
AdminMe = Annotated[Principal, Depends(signed_in_admin)]
