"""The email worker's sending: claim due messages, write them, hand them to SMTP.

A message is written when it is sent: a link's token gets its text then (only its hash is
stored), so no database row holds a working link. A 4xx reply, a lost connection or a
failed TLS check is retried on the webhooks' schedule (2^(n-1) minutes after failure n, 10
attempts); a 5xx reply drops the message. Delivery is at least once: a worker that dies
after the server took a message sends it again when its lease runs out, with the same
Message-ID (and a fresh link).
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate

from sqlalchemy import Engine
from sqlmodel import Session, col, select, update

from claims.clock import Clock
from forecasts.ledger.models import Account
from forecasts.notify.claiming import retry_delay
from forecasts.notify.email.links import CONFIRM, RESET, UNSUBSCRIBE, arm
from forecasts.notify.email.models import EmailAddress, EmailItem, EmailMessage, EmailToken
from forecasts.notify.email.smtp import Outcome, SmtpTarget, send_message
from forecasts.notify.email.texts import confirm_text, reset_text, stream_text

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
LEASE = timedelta(minutes=2)
BATCH = 50
Sender = Callable[[SmtpTarget, MimeMessage], tuple[Outcome, str | None]]


@dataclass(frozen=True)
class Mailer:
    """Where and as whom mail goes, and the site's public URL for its links."""

    target: SmtpTarget
    sender: str
    public_url: str


def send_due(engine: Engine, clock: Clock, mailer: Mailer, send: Sender = send_message) -> int:
    """Send the due messages, claiming each just before it is written and sent (so a lease
    never runs out while it waits behind others); returns how many were sent."""
    sent = 0
    for _ in range(BATCH):
        claimed = _claim_next(engine, clock())
        if claimed is None:
            break
        sent += _send_one(engine, clock, mailer, send, *claimed)
    return sent


def _send_one(
    engine: Engine, clock: Clock, mailer: Mailer, send: Sender, message_id: int, lease: str
) -> int:
    with Session(engine, expire_on_commit=False) as session:
        written = _write(session, message_id, mailer, clock())
        session.commit()
    if written is None:
        _finish(engine, message_id, lease, "dropped", "nothing to send any more", clock())
        return 0
    try:
        outcome, error = send(mailer.target, written)
    except Exception as unexpected:  # one odd message must not stop the ones after it
        outcome, error = Outcome.RETRY, f"{type(unexpected).__name__}: {unexpected}"[:500]
    if outcome is Outcome.SENT:
        _finish(engine, message_id, lease, "sent", None, clock())
        log.info("email %s: sent", message_id)
        return 1
    if outcome is Outcome.DROP:
        _finish(engine, message_id, lease, "dropped", error, clock())
        status = "dropped"
    else:
        status = _retry(engine, message_id, lease, error, clock())
    # the reason is the server's reply or the connection's error: never the message or a link
    log.warning("email %s: %s: %s", message_id, status, error)
    return 0


def _claim_next(engine: Engine, now: datetime) -> tuple[int, str] | None:
    """The oldest due message with no live lease, leased to this worker; None when none is.
    The conditional UPDATE lets only one of two workers that chose the same row take it."""
    unleased = col(EmailMessage.leased_until).is_(None) | (col(EmailMessage.leased_until) < now)
    with Session(engine) as session:
        for _ in range(5):  # another worker may take the one chosen; then choose again
            message_id = session.exec(
                select(EmailMessage.id)
                .where(
                    EmailMessage.status == "pending",
                    col(EmailMessage.next_attempt_at) <= now,
                    unleased,
                )
                .order_by(col(EmailMessage.id))
                .limit(1)
            ).first()
            if message_id is None:
                return None
            lease = uuid.uuid4().hex
            taken = session.exec(
                update(EmailMessage)
                .where(
                    col(EmailMessage.id) == message_id,
                    col(EmailMessage.status) == "pending",
                    unleased,
                )
                .values(lease=lease, leased_until=now + LEASE)
            )
            session.commit()
            if taken.rowcount == 1:
                return message_id, lease
    return None


def message_id_of(message: EmailMessage, mailer: Mailer) -> str:
    """The Message-ID: the same for every attempt of one message (a resend after a lost
    acknowledgement can be told apart from a new email), unique by row and creation time."""
    domain = mailer.sender.rpartition("@")[2] or "localhost"
    return f"<{message.id}.{message.created_at:%Y%m%d%H%M%S%f}@{domain}>"


def _mime(mailer: Mailer, message: EmailMessage, to: str, subject: str, body: str) -> MimeMessage:
    mime = MimeMessage()
    mime["From"], mime["To"], mime["Subject"] = mailer.sender, to, subject
    mime["Date"] = formatdate(usegmt=True)
    mime["Message-ID"] = message_id_of(message, mailer)
    mime.set_content(body)
    return mime


def _write(session: Session, message_id: int, mailer: Mailer, now: datetime) -> MimeMessage | None:
    """The email, with fresh link tokens; None when there is nothing left to send (the
    link expired or was voided, the address went or is unconfirmed)."""
    message = session.get(EmailMessage, message_id)
    assert message is not None
    row = session.get(EmailAddress, message.account_id)
    token = session.get(EmailToken, message.token_id) if message.token_id else None
    base = mailer.public_url
    if message.purpose == CONFIRM:
        if token is None or token.used_at or (token.expires_at and token.expires_at <= now):
            return None
        if row is None or row.address != token.address:
            return None
        subject, body = confirm_text(f"{base}/confirm/{arm(session, token)}")
        return _mime(mailer, message, row.address, subject, body)
    if row is None or row.confirmed_at is None:
        return None
    if message.purpose == RESET:
        account = session.get(Account, message.account_id)
        if token is None or token.used_at or (token.expires_at and token.expires_at <= now):
            return None
        if account is None or account.session_epoch != token.epoch:
            return None
        subject, body = reset_text(account.handle, f"{base}/reset/{arm(session, token)}")
        return _mime(mailer, message, row.address, subject, body)
    return _stream_mime(session, message, row, mailer, now)


def _stream_mime(
    session: Session, message: EmailMessage, row: EmailAddress, mailer: Mailer, now: datetime
) -> MimeMessage | None:
    items = session.exec(
        select(EmailItem).where(EmailItem.message_id == message.id).order_by(col(EmailItem.id))
    ).all()
    if not items:
        return None
    streams = sorted({item.stream for item in items})
    token = EmailToken(
        account_id=row.account_id, purpose=UNSUBSCRIBE, streams=",".join(streams), created_at=now
    )
    link = f"{mailer.public_url}/unsubscribe/{arm(session, token)}"
    pairs = [(item.stream, item.data) for item in items]
    subject, body = stream_text(pairs, mailer.public_url, link)
    mime = _mime(mailer, message, row.address, subject, body)
    mime["List-Unsubscribe"] = f"<{link}>"
    mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    return mime


def _finish(
    engine: Engine, message_id: int, lease: str, status: str, error: str | None, now: datetime
) -> None:
    with Session(engine) as session:
        message = session.get(EmailMessage, message_id)
        if message is None or message.lease != lease:
            return  # the lease ran out and another worker has it now
        message.status, message.last_error = status, error
        message.attempts += 1
        message.lease = message.leased_until = message.next_attempt_at = None
        session.add(message)
        session.commit()


def _retry(engine: Engine, message_id: int, lease: str, error: str | None, now: datetime) -> str:
    """Due again on the schedule, or `failed` after the last attempt: which ("retry", "failed")."""
    with Session(engine) as session:
        message = session.get(EmailMessage, message_id)
        if message is None or message.lease != lease:
            return "retry"  # not ours any more: the worker that has it decides
        message.attempts += 1
        message.last_error = error
        message.lease = message.leased_until = None
        if message.attempts >= MAX_ATTEMPTS:
            message.status, message.next_attempt_at = "failed", None
        else:
            message.next_attempt_at = now + retry_delay(message.attempts)
        session.add(message)
        session.commit()
        return "failed" if message.status == "failed" else "retry"
