"""Claims: create, list, read, change, publish; the public probability history."""

from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlmodel import Session

from claims.claimants import get_claimant
from claims.clock import stamp
from claims.lifecycle import amend_claim, create_claim, get_claim, publish_claim, tags_by_claim
from claims.listing import list_claims
from claims.models import Claim
from claims.schemas import ClaimCreate, ClaimPatch
from claims.states import ClaimKind
from forecasts.accounts.service import Principal, sees_drafts
from forecasts.claimants.records import refresh_claim
from forecasts.notify.reports import record
from forecasts.submit.history import probability_history
from forecasts.submit.kind_history import distribution_history
from forecasts.submit.probabilities import claims_probabilities, standings_of
from forecasts.submit.service import ForecastRecord, has_forecasts
from forecasts.submit.shapes import shape_of
from web.api.kind_views import history_view
from web.api.paging import Cursor, Limit, decode_cursor, keyset_page, offset_cursor
from web.api.views import ClaimOut, Page, claim_out, forecast_view
from web.context import AppContext
from web.deps import Ctx, Editor, MaybeCaller, ReadSession, WriteSession
from web.errors import responses

router = APIRouter(tags=["claims"])
Status = Literal[
    "draft", "upcoming", "open", "closed", "proposed", "resolved", "annulled", "ambiguous"
]


def render_claim(
    session: Session, ctx: AppContext, claim: Claim, caller: Principal | None
) -> ClaimOut:
    """A claim with its probabilities and the caller's standing forecast."""
    return render_claims(session, ctx, [claim], caller)[0]


@dataclass(frozen=True)
class Listed:
    """A page of claims, newest first, and the cursor of the next."""

    claims: list[Claim]
    next_cursor: str | None


def claims_listing(
    session: Session,
    ctx: AppContext,
    caller: Principal | None,
    status: str | None,
    tag: str | None,
    cursor: str | None,
    limit: int,
    claimant: str | None = None,
) -> Listed:
    """The claims of `GET /claims` and of the index page, in one query (and one more to
    check that a claimant asked for exists: an unknown one is a 404, never ignored)."""
    if claimant is not None:
        get_claimant(session, claimant)
    claims = list_claims(
        session,
        clock=ctx.clock,
        drafts=sees_drafts(caller),
        status=status,
        tag=tag,
        claimant=claimant,
        before_id=decode_cursor(cursor),
        limit=limit + 1,
    )
    page, next_cursor = keyset_page(claims, limit, lambda c: c.id or None)
    return Listed(page, next_cursor)


def render_claims(
    session: Session, ctx: AppContext, claims: list[Claim], caller: Principal | None
) -> list[ClaimOut]:
    """`render_claim` of each, with a few queries for the whole list rather than per claim."""
    ids = [claim.id for claim in claims if claim.id is not None]
    probabilities = claims_probabilities(session, ids, ctx.crowd_cache)
    tags = tags_by_claim(session, ids)
    standings = standings_of(session, ids, caller.account_id) if caller is not None else {}
    now = ctx.clock()
    rendered = []
    for claim in claims:
        assert claim.id is not None
        mine = None
        if claim.id in standings:
            standing, rationale, quantiles = standings[claim.id]
            mine = forecast_view(
                ForecastRecord(
                    standing.forecast_id,
                    claim.slug,
                    caller.handle if caller is not None else "",
                    standing.probability,
                    rationale,
                    standing.at,
                    standing.ledger_seq,
                    shape_of(claim.kind, claim.options, standing.distribution),
                    quantiles,
                )
            )
        rendered.append(claim_out(claim, tags[claim.id], probabilities[claim.id], now, mine))
    return rendered


@router.post(
    "/claims", status_code=201, response_model=ClaimOut, responses=responses(401, 403, 409, 422)
)
def post_claim(data: ClaimCreate, session: WriteSession, ctx: Ctx, editor: Editor) -> ClaimOut:
    claim = create_claim(session, data, editor_id=editor.account_id, now=ctx.clock(), record=record)
    return render_claim(session, ctx, claim, editor)


@router.get("/claims", response_model=Page[ClaimOut], responses=responses(401, 404, 422))
def get_claims(
    session: ReadSession,
    ctx: Ctx,
    caller: MaybeCaller,
    status: Status | None = None,
    tag: str | None = Query(default=None, max_length=40),
    claimant: str | None = Query(default=None, max_length=120, description="A claimant's slug"),
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ClaimOut]:
    listed = claims_listing(session, ctx, caller, status, tag, cursor, limit, claimant)
    items = render_claims(session, ctx, listed.claims, caller)
    return Page[ClaimOut](items=items, next_cursor=listed.next_cursor)


@router.get("/claims/{slug}", response_model=ClaimOut, responses=responses(401, 404))
def get_one(slug: str, session: ReadSession, ctx: Ctx, caller: MaybeCaller) -> ClaimOut:
    return render_claim(session, ctx, visible_claim(session, slug, caller), caller)


def visible_claim(session: Session, slug: str, caller: Principal | None) -> Claim:
    """The claim, if the caller may see it: a draft is a 404 for anyone but editors."""
    return get_claim(session, slug, drafts=sees_drafts(caller))


class HistoryPointOut(BaseModel):
    at: str
    crowd: Any = Field(
        description="probability (binary), {label: p} (multiple choice), or "
        '{"quantiles": {...}} (numeric, date); null while nobody stands'
    )
    market: Any = Field(description="as crowd")


@router.get(
    "/claims/{slug}/history",
    response_model=Page[HistoryPointOut],
    responses=responses(401, 404, 422),
)
def get_history(
    slug: str,
    session: ReadSession,
    ctx: Ctx,
    caller: MaybeCaller,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[HistoryPointOut]:
    """The crowd and market probability after each forecast or withdrawal, oldest first.

    Public while the claim is open, like prices (SPEC §2): times and probabilities, no names.
    """
    claim = visible_claim(session, slug, caller)
    assert claim.id is not None
    start = decode_cursor(cursor) or 0
    if claim.kind != ClaimKind.BINARY:
        points = distribution_history(session, claim.id, ctx.kind_history_cache)
        items = [
            HistoryPointOut(at=stamp(point.at), **history_view(claim, point.crowd, point.market))
            for point in points[start : start + limit]
        ]
        total = len(points)
    else:
        binary = probability_history(session, claim.id, ctx.history_cache)
        items = [
            HistoryPointOut(at=stamp(point.at), crowd=point.crowd, market=point.market)
            for point in binary[start : start + limit]
        ]
        total = len(binary)
    return Page(items=items, next_cursor=offset_cursor(start, limit, start + limit < total))


@router.patch(
    "/claims/{slug}", response_model=ClaimOut, responses=responses(401, 403, 404, 409, 422)
)
def patch_claim(
    slug: str, patch: ClaimPatch, session: WriteSession, ctx: Ctx, editor: Editor
) -> ClaimOut:
    claim = get_claim(session, slug)
    assert claim.id is not None
    seen = has_forecasts(session.connection(), claim.id)
    claim = amend_claim(
        session,
        claim,
        patch,
        forecast_seen=seen,
        now=ctx.clock(),
        record=record,
        on_source=refresh_claim,
    )
    return render_claim(session, ctx, claim, editor)


@router.post(
    "/claims/{slug}/publish", response_model=ClaimOut, responses=responses(401, 403, 404, 409)
)
def publish(slug: str, session: WriteSession, ctx: Ctx, editor: Editor) -> ClaimOut:
    claim = publish_claim(session, slug, now=ctx.clock(), record=record)
    return render_claim(session, ctx, claim, editor)
