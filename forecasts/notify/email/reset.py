"""Password reset by a one-time link (SPEC §9): 1 hour, once, voided by a newer link or a
password change, 3 an hour per account."""

from datetime import datetime, timedelta

from sqlmodel import Session, col, select, update

from claims.errors import NotFound
from forecasts.accounts.service import replace_password_hash
from forecasts.ledger.models import Account
from forecasts.notify.email.addresses import queued
from forecasts.notify.email.links import EXPIRED, RESET, live_token
from forecasts.notify.email.models import EmailAddress, EmailToken

RESET_FOR = timedelta(hours=1)
RESETS_AN_HOUR = 3


def request_reset(session: Session, handle: str, *, now: datetime) -> bool:
    """Queue a reset link for the handle's confirmed address; commits. False (and nothing
    done) for an unknown handle, no confirmed address, or past the hourly limit: the caller
    answers the same either way."""
    found = session.exec(
        select(Account, EmailAddress)
        .join(EmailAddress, col(EmailAddress.account_id) == Account.id)
        .where(Account.handle == handle, col(EmailAddress.confirmed_at).is_not(None))
    ).first()
    if found is None:
        return False
    account, _address = found
    assert account.id is not None
    recent = session.exec(
        select(EmailToken.id).where(
            EmailToken.account_id == account.id,
            EmailToken.purpose == RESET,
            col(EmailToken.created_at) > now - timedelta(hours=1),
        )
    ).all()
    if len(recent) >= RESETS_AN_HOUR:
        return False
    session.exec(  # a newer link voids the older ones
        update(EmailToken)
        .where(
            col(EmailToken.account_id) == account.id,
            col(EmailToken.purpose) == RESET,
            col(EmailToken.used_at).is_(None),
        )
        .values(used_at=now)
    )
    token = EmailToken(
        account_id=account.id,
        purpose=RESET,
        epoch=account.session_epoch,
        created_at=now,
        expires_at=now + RESET_FOR,
    )
    session.add(token)
    session.flush()
    session.add(queued(account.id, RESET, now, token_id=token.id))
    session.commit()
    return True


def reset_account(session: Session, text: str, now: datetime) -> Account:
    """The account a live reset link is for; NotFound when it expired, was used or voided."""
    token = live_token(session, text, RESET, now)
    account = session.get(Account, token.account_id)
    # a password change (or ending every session) moved the epoch on: the link is void
    if account is None or account.session_epoch != token.epoch:
        raise NotFound(EXPIRED)
    return account


def use_reset(session: Session, text: str, digest: str, *, now: datetime) -> Account:
    """Set the password's hash (`digest`), spend the link and end every session; commits."""
    account = reset_account(session, text, now)
    token = live_token(session, text, RESET, now)
    token.used_at = now
    session.add(token)
    replace_password_hash(session, account, digest)  # commits; the epoch moves on
    return account
