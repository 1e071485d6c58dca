"""Link tokens: 256 random bits, stored as SHA-256, checked once; never in a log line."""

import secrets
from datetime import datetime

from sqlmodel import Session, select

from claims.errors import NotFound
from forecasts.accounts.service import hash_token
from forecasts.notify.email.models import EmailToken

CONFIRM, RESET, UNSUBSCRIBE = "confirm", "reset", "unsubscribe"
EXPIRED = "this link has expired or was already used"


def new_token_text() -> str:
    """43 URL-safe characters: 256 random bits."""
    return secrets.token_urlsafe(32)


def redacted(path: str) -> str:
    """A link's path as log lines show it: the token as '…'."""
    head, _, _ = path.rpartition("/")
    return f"{head}/…"


def live_token(session: Session, text: str, purpose: str, now: datetime) -> EmailToken:
    """The unused, unexpired token of this purpose whose text is `text`; else NotFound."""
    if not 20 <= len(text) <= 100:
        raise NotFound(EXPIRED)
    token = session.exec(
        select(EmailToken).where(
            EmailToken.token_hash == hash_token(text), EmailToken.purpose == purpose
        )
    ).first()
    if token is None or token.used_at is not None:
        raise NotFound(EXPIRED)
    if token.expires_at is not None and token.expires_at <= now:
        raise NotFound(EXPIRED)
    return token


def arm(session: Session, token: EmailToken) -> str:
    """Give the token a fresh text (when its email is written) and return it; only the
    hash stays. An earlier text of the same token stops working."""
    text = new_token_text()
    token.token_hash = hash_token(text)
    session.add(token)
    return text
