"""Webhooks of SPEC §9: register, list, change, delete; the URL rules; the one-time secret."""

import asyncio
import secrets
from collections.abc import Sequence
from datetime import datetime

import httpx
from sqlmodel import Session, col, delete, func, select

from claims.errors import Conflict, Invalid, NotFound
from claims.fetch import FetchPolicy, Refused, Resolver, vet_url
from forecasts.ledger.models import Account
from forecasts.notify.events import EventName
from forecasts.notify.models import Delivery, DeliveryAttempt, Webhook

MAX_WEBHOOKS = 10
MAX_URL = 2000
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """`whsec_` and 64 lowercase hex digits."""
    return SECRET_PREFIX + secrets.token_hex(32)


# One text for every refusal by address: "cannot resolve" beside "not a public address"
# told any account which internal names exist (decisions.md, session 6).
HOST_REFUSED = (
    "must be an https URL (port 443 or 80) whose host resolves only to public addresses, "
    "or to addresses in the site's allow list"
)


def check_url(url: str, policy: FetchPolicy, resolver: Resolver | None = None) -> str:
    """The URL if a webhook may POST to it: the evidence fetcher's guard, now (422 if not).

    https (http only inside the allow list), no credentials, port 443 or 80 outside it; the
    name is resolved and vetted again at every attempt.
    """
    if len(url) > MAX_URL:
        raise Invalid("url", f"must be at most {MAX_URL} characters")
    try:
        if httpx.URL(url).userinfo:
            raise Invalid("url", "must not carry credentials")
        asyncio.run(vet_url(url, policy, resolver))
    except Refused as exc:
        raise Invalid("url", HOST_REFUSED if exc.by_address else str(exc)) from None
    except httpx.InvalidURL as exc:
        raise Invalid("url", str(exc)) from None
    return url


def _check_events(events: Sequence[str]) -> list[str]:
    names = set(EventName)
    unknown = [name for name in events if name not in names]
    if not events or unknown:
        raise Invalid("events", "must be a non-empty list of " + ", ".join(EventName))
    return sorted(set(events))


def create_webhook(
    session: Session,
    account_id: int,
    url: str,
    events: Sequence[str],
    *,
    now: datetime,
    policy: FetchPolicy,
    resolver: Resolver | None = None,
) -> Webhook:
    """Register a webhook with a new secret; commits. More than 10, or a URL twice: 409."""
    subscribed = _check_events(events)
    check_url(url, policy, resolver)
    lock_account(session, account_id)
    held = session.exec(select(func.count()).where(Webhook.account_id == account_id)).one()
    if held >= MAX_WEBHOOKS:
        raise Conflict(f"an account may hold at most {MAX_WEBHOOKS} webhooks")
    _refuse_taken(session, account_id, url)
    webhook = Webhook(
        account_id=account_id, url=url, events=subscribed, secret=new_secret(), created_at=now
    )
    session.add(webhook)
    session.commit()
    session.refresh(webhook)
    return webhook


def lock_account(session: Session, account_id: int) -> None:
    """Serialise an account's registrations (and redeliveries), so that two at once cannot
    both count 9 or both insert one URL (SQLite's write transactions are serial already)."""
    session.exec(select(Account.id).where(Account.id == account_id).with_for_update()).one()


def _refuse_taken(session: Session, account_id: int, url: str, but: int | None = None) -> None:
    query = select(Webhook.id).where(Webhook.account_id == account_id, Webhook.url == url)
    taken = session.exec(query).first()
    if taken is not None and taken != but:
        raise Conflict("this account already has a webhook for that URL")


def list_webhooks(session: Session, account_id: int) -> list[Webhook]:
    query = select(Webhook).where(Webhook.account_id == account_id).order_by(col(Webhook.id))
    return list(session.exec(query))


def get_webhook(session: Session, account_id: int, webhook_id: int) -> Webhook:
    """The account's webhook; anyone else's, admins' included, is not found."""
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or webhook.account_id != account_id:
        raise NotFound(f"no webhook {webhook_id}")
    return webhook


def update_webhook(
    session: Session,
    account_id: int,
    webhook_id: int,
    *,
    url: str | None = None,
    events: Sequence[str] | None = None,
    active: bool | None = None,
    now: datetime,
    policy: FetchPolicy,
    resolver: Resolver | None = None,
) -> Webhook:
    """Change the URL, the events or `active`; commits. Re-enabling replays nothing missed."""
    webhook = get_webhook(session, account_id, webhook_id)
    if events is not None:
        webhook.events = _check_events(events)
    if url is not None and url != webhook.url:
        check_url(url, policy, resolver)
        lock_account(session, account_id)
        _refuse_taken(session, account_id, url, but=webhook_id)
        webhook.url = url
    if active is True and not webhook.active:
        webhook.active, webhook.failing_since = True, None
        webhook.disabled_at, webhook.disabled_reason = None, None
    elif active is False and webhook.active:
        webhook.active, webhook.disabled_at, webhook.disabled_reason = False, now, "owner"
    session.add(webhook)
    session.commit()
    session.refresh(webhook)
    return webhook


def delete_webhook(session: Session, account_id: int, webhook_id: int) -> None:
    """Remove the webhook with its delivery log; commits."""
    webhook = get_webhook(session, account_id, webhook_id)
    deliveries = select(Delivery.id).where(Delivery.webhook_id == webhook_id)
    session.exec(delete(DeliveryAttempt).where(col(DeliveryAttempt.delivery_id).in_(deliveries)))
    session.exec(delete(Delivery).where(col(Delivery.webhook_id) == webhook_id))
    session.delete(webhook)
    session.commit()
