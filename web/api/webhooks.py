"""Your webhooks (SPEC §9): register (the secret shown once), list, change, delete; the
delivery log and redelivery. Another account's webhook is a 404, to admins too."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from claims.clock import stamp
from claims.fetch import FetchPolicy, parse_allow_list
from forecasts.notify.deliveries import LoggedDelivery, list_deliveries, redeliver
from forecasts.notify.events import EventName
from forecasts.notify.models import Webhook
from forecasts.notify.webhooks import (
    MAX_URL,
    create_webhook,
    delete_webhook,
    get_webhook,
    list_webhooks,
    update_webhook,
)
from web.api.paging import Cursor, Limit, RowId, decode_cursor, offset_cursor
from web.api.views import Page
from web.context import AppContext
from web.deps import Caller, Ctx, ReadSession, WriteSession
from web.errors import responses

router = APIRouter(tags=["webhooks"])
Url = Annotated[str, Field(min_length=1, max_length=MAX_URL)]
Events = Annotated[list[EventName], Field(min_length=1, max_length=len(EventName))]
DeliveryId = Annotated[str, Path(max_length=36)]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url
    events: Events


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    events: Events | None = None
    active: bool | None = None


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    active: bool
    failing_since: str | None
    disabled_at: str | None
    disabled_reason: str | None
    created_at: str


class NewWebhook(WebhookOut):
    secret: str = Field(description="whsec_ and 64 hex digits; shown only here")


class AttemptOut(BaseModel):
    at: str
    response_status: int | None
    duration_ms: int
    error: str | None


class DeliveryOut(BaseModel):
    id: str
    event: str
    created_at: str
    status: str
    next_attempt_at: str | None
    attempts: list[AttemptOut]


def _guard(ctx: AppContext) -> FetchPolicy:
    return FetchPolicy(allow=parse_allow_list(ctx.settings.fetch_allow))


def _when(value: datetime | None) -> str | None:
    return None if value is None else stamp(value)


def webhook_out(webhook: Webhook) -> WebhookOut:
    return WebhookOut(
        id=webhook.id or 0,
        url=webhook.url,
        events=webhook.events,
        active=webhook.active,
        failing_since=_when(webhook.failing_since),
        disabled_at=_when(webhook.disabled_at),
        disabled_reason=webhook.disabled_reason,
        created_at=stamp(webhook.created_at),
    )


def delivery_out(logged: LoggedDelivery) -> DeliveryOut:
    delivery = logged.delivery
    return DeliveryOut(
        id=delivery.id,
        event=delivery.event,
        created_at=stamp(delivery.created_at),
        status=delivery.status,
        next_attempt_at=_when(delivery.next_attempt_at) if delivery.status == "pending" else None,
        attempts=[
            AttemptOut(
                at=stamp(a.at),
                response_status=a.response_status,
                duration_ms=a.duration_ms,
                error=a.error,
            )
            for a in logged.attempts
        ],
    )


@router.post(
    "/me/webhooks", status_code=201, response_model=NewWebhook, responses=responses(401, 409, 422)
)
def post_webhook(
    body: WebhookIn, response: Response, session: WriteSession, ctx: Ctx, caller: Caller
) -> NewWebhook:
    """Register a webhook (at most 10, each URL once); its secret is shown only here."""
    webhook = create_webhook(
        session, caller.account_id, body.url, body.events, now=ctx.clock(), policy=_guard(ctx)
    )
    response.headers["Cache-Control"] = "no-store"
    return NewWebhook(**webhook_out(webhook).model_dump(), secret=webhook.secret)


@router.get("/me/webhooks", response_model=Page[WebhookOut], responses=responses(401))
def get_webhooks(session: ReadSession, caller: Caller) -> Page[WebhookOut]:
    items = [webhook_out(w) for w in list_webhooks(session, caller.account_id)]
    return Page(items=items, next_cursor=None)


@router.get("/me/webhooks/{webhook_id}", response_model=WebhookOut, responses=responses(401, 404))
def get_one_webhook(webhook_id: RowId, session: ReadSession, caller: Caller) -> WebhookOut:
    return webhook_out(get_webhook(session, caller.account_id, webhook_id))


@router.patch(
    "/me/webhooks/{webhook_id}",
    response_model=WebhookOut,
    responses=responses(401, 404, 409, 422),
)
def patch_webhook(
    webhook_id: RowId, patch: WebhookPatch, session: WriteSession, ctx: Ctx, caller: Caller
) -> WebhookOut:
    """Change `url`, `events` or `active` (true re-enables; missed events are not replayed)."""
    webhook = update_webhook(
        session,
        caller.account_id,
        webhook_id,
        url=patch.url,
        events=patch.events,
        active=patch.active,
        now=ctx.clock(),
        policy=_guard(ctx),
    )
    return webhook_out(webhook)


@router.delete("/me/webhooks/{webhook_id}", status_code=204, responses=responses(401, 404))
def remove_webhook(webhook_id: RowId, session: WriteSession, caller: Caller) -> None:
    delete_webhook(session, caller.account_id, webhook_id)


@router.get(
    "/me/webhooks/{webhook_id}/deliveries",
    response_model=Page[DeliveryOut],
    responses=responses(401, 404, 422),
)
def get_deliveries(
    webhook_id: RowId,
    session: ReadSession,
    ctx: Ctx,
    caller: Caller,
    status: Literal["pending", "delivered", "failed"] | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[DeliveryOut]:
    """The last 30 days of deliveries, newest first, each with its attempts."""
    start = decode_cursor(cursor) or 0
    rows, more = list_deliveries(
        session,
        caller.account_id,
        webhook_id,
        status=status,
        offset=start,
        limit=limit,
        now=ctx.clock(),
    )
    items = [delivery_out(row) for row in rows]
    return Page(items=items, next_cursor=offset_cursor(start, limit, more))


@router.post(
    "/me/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=None,
    responses=responses(401, 404, 409, 429),
)
def post_redeliver(
    webhook_id: RowId, delivery_id: DeliveryId, session: WriteSession, ctx: Ctx, caller: Caller
) -> dict[str, str]:
    """One fresh attempt now, same id and body (409 while one is pending or when disabled)."""
    delivery = redeliver(session, caller.account_id, webhook_id, delivery_id, now=ctx.clock())
    return {"id": delivery.id, "status": delivery.status}
