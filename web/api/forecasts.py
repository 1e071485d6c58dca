"""Forecasts: submit, withdraw, list. The submission path is the hot one: keep it lean."""

import hashlib
import json
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header
from fastapi.responses import Response
from sqlmodel import col, select

from claims.errors import Conflict, DomainError
from claims.lifecycle import status_at
from claims.states import ClaimState
from claims.text import Slug
from forecasts.accounts.service import Principal, sees_drafts
from forecasts.ledger.models import Account, Forecast
from forecasts.submit.schemas import ForecastIn
from forecasts.submit.service import (
    Accepted,
    ForecastRecord,
    Replayed,
    SubmitRequest,
    TokenRevoked,
)
from forecasts.submit.shapes import shape_of
from web.api.claims import visible_claim
from web.api.paging import Cursor, Limit, decode_cursor, keyset_page
from web.api.views import ForecastOut, Page, WithdrawalOut, forecast_view
from web.context import AppContext
from web.deps import Caller, Ctx, MaybeCaller, ReadSession
from web.errors import error_headers, responses, status_of
from web.metrics import observe_submission

router = APIRouter(tags=["forecasts"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Makes a retry return the original response instead of acting twice",
    ),
]


def _request_hash(
    slug: str, action: str, value: float | None, rationale: str | None, values: Any
) -> str:
    said = [slug, action, value, rationale] + ([] if values is None else [values])
    text = json.dumps(said, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Decision:
    """A submission's answer, rendered once for both lanes (FastAPI's and web/fastpath.py's)."""

    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    media_type: bytes = b"application/json"

    def response(self) -> Response:
        response = Response(self.body, status_code=self.status, media_type=self.media_type.decode())
        for name, value in self.headers:
            response.headers[name.decode()] = value.decode()
        return response


def _json(value: object) -> bytes:
    # compact UTF-8 JSON, as JSONResponse sends it; orjson writes a CDF's 201 numbers in a
    # twelfth of the json module's time. The Idempotency-Key answer is the same bytes.
    return orjson.dumps(value)


async def decide_submission(
    ctx: AppContext,
    caller: Principal,
    slug: str,
    body: ForecastIn | None,
    key: str | None,
) -> Decision:
    """Store a submission (a withdrawal when `body` is None) and render its answer."""
    decision = await _decide(ctx, caller, slug, body, key)
    observe_submission("withdraw" if body is None else "submit", decision.status)
    return decision


async def _decide(
    ctx: AppContext,
    caller: Principal,
    slug: str,
    body: ForecastIn | None,
    key: str | None,
) -> Decision:
    probability = None if body is None else body.value
    values = None if body is None else body.values()
    rationale = None if body is None else body.rationale
    if body is not None:
        # per account, not per token: tokens are many; the key is in hand, no query needed
        wait = ctx.rate.retry_after(str(caller.account_id))
        if wait is not None:
            detail = {"detail": "too many forecast submissions; slow down"}
            return Decision(429, _json(detail), [(b"retry-after", str(wait).encode())])
    action = "withdraw" if body is None else "submit"
    request = SubmitRequest(
        account_id=caller.account_id,
        handle=caller.handle,
        slug=slug,
        probability=probability,
        rationale=rationale,
        idempotency_key=key,
        # only a keyed request is ever compared with an earlier one
        request_hash=_request_hash(slug, action, probability, rationale, values) if key else "",
        token_hash=caller.token_hash,
        sees_drafts=sees_drafts(caller),
        values=values,
    )
    flight = (caller.account_id, key) if key else None
    if flight is not None:
        if flight in ctx.in_flight:
            return _error(Conflict("a request with this Idempotency-Key is in flight"))
        ctx.in_flight.add(flight)
    try:
        assert ctx.committer is not None
        outcome = await ctx.committer.outcome(request)
    finally:
        if flight is not None:
            ctx.in_flight.discard(flight)
    if isinstance(outcome, Accepted):
        return Decision(outcome.status, _json(forecast_view(outcome.record)))
    if isinstance(outcome, Replayed):
        return Decision(outcome.status, outcome.body.encode())
    assert isinstance(outcome, DomainError)
    if isinstance(outcome, TokenRevoked) and caller.token_hash is not None:
        ctx.forget_token(caller.token_hash)
    return _error(outcome)


def _error(error: DomainError) -> Decision:
    # web.errors.error_response's answer, as bytes
    status = status_of(error)
    headers = [(k.lower().encode(), v.encode()) for k, v in error_headers(status).items()]
    return Decision(status, _json({"detail": error.detail}), headers)


@router.post(
    "/claims/{slug}/forecasts",
    status_code=201,
    response_model=ForecastOut,
    responses=responses(401, 404, 409, 422, 429),
)
async def submit_forecast(
    slug: Slug, body: ForecastIn, ctx: Ctx, caller: Caller, idempotency_key: IdempotencyKey = None
) -> Response:
    """Submit (or update) your forecast; stamped and stored before the answer."""
    decision = await decide_submission(ctx, caller, slug, body, idempotency_key)
    return decision.response()


@router.post(
    "/claims/{slug}/withdraw",
    status_code=201,
    response_model=WithdrawalOut,
    responses=responses(401, 404, 409, 422),
)
async def withdraw_forecast(
    slug: Slug, ctx: Ctx, caller: Caller, idempotency_key: IdempotencyKey = None
) -> Response:
    """Withdraw your standing forecast (a new record; nothing is deleted)."""
    decision = await decide_submission(ctx, caller, slug, None, idempotency_key)
    return decision.response()


@router.get(
    "/claims/{slug}/forecasts",
    response_model=Page[ForecastOut | WithdrawalOut],
    responses=responses(401, 404, 422),
)
def list_forecasts(
    slug: str,
    session: ReadSession,
    ctx: Ctx,
    caller: MaybeCaller,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ForecastOut | WithdrawalOut]:
    """Your own forecasts while the claim is open; everyone's once it has closed."""
    claim = visible_claim(session, slug, caller)
    status = status_at(claim, ctx.clock())
    query = (
        select(Forecast, Account.handle)
        .join(Account, col(Account.id) == Forecast.account_id)
        .where(Forecast.claim_id == claim.id)
        .order_by(col(Forecast.ledger_seq))
        .limit(limit + 1)
    )
    if status in (ClaimState.DRAFT, "upcoming", "open"):
        if caller is None:
            return Page(items=[], next_cursor=None)
        query = query.where(Forecast.account_id == caller.account_id)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(col(Forecast.ledger_seq) > after)
    rows, next_cursor = keyset_page(list(session.exec(query)), limit, lambda r: r[0].ledger_seq)
    items: list[ForecastOut | WithdrawalOut] = []
    for forecast, handle in rows:
        view = forecast_view(
            ForecastRecord(
                forecast.ledger_seq,
                claim.slug,
                handle,
                forecast.probability,
                forecast.rationale,
                forecast.created_at,
                forecast.ledger_seq,
                shape_of(claim.kind, claim.options, forecast.distribution),
                forecast.quantiles,
            )
        )
        items.append(WithdrawalOut(**view) if "withdrawn_at" in view else ForecastOut(**view))
    return Page(items=items, next_cursor=next_cursor)
