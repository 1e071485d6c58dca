"""Claimants (SPEC §8): add and amend them, list them by their record, read one."""

from dataclasses import Field as Field_
from dataclasses import fields
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, create_model

from claims.claimants import amend_claimant, create_claimant
from claims.models import Claimant
from claims.schemas import ClaimantCreate, ClaimantPatch
from forecasts.claimants.reading import (
    CitedClaim,
    ClaimantRow,
    Metric,
    claimant_detail,
    list_claimants,
)
from forecasts.ledger.chain import record
from web.api.paging import Cursor, Limit, decode_cursor, offset_cursor
from web.api.views import Page
from web.deps import Ctx, Editor, ReadSession, WriteSession
from web.errors import responses

router = APIRouter(tags=["claimants"])


def _out_field(f: "Field_[Any]") -> tuple[Any, Any]:
    # `yield` is a Python keyword: the record's `yield_` goes out under SPEC §8's name
    return (f.type, Field(serialization_alias="yield") if f.name == "yield_" else ...)


# The claimant's fields and figures are declared once, by the domain's ClaimantRow; mypy
# cannot see fields made at run time, so to it this is a plain model.
if TYPE_CHECKING:
    ClaimantOut = BaseModel
else:
    ClaimantOut = create_model(
        "ClaimantOut", **{f.name: _out_field(f) for f in fields(ClaimantRow)}
    )


class ClaimantDetailOut(ClaimantOut):
    claims: list[CitedClaim]  # the domain record as it is: its fields are the contract


def claimant_out(row: ClaimantRow) -> ClaimantOut:
    return ClaimantOut.model_validate(row, from_attributes=True)


def _detail(session: ReadSession, ctx: Ctx, slug: str) -> ClaimantDetailOut:
    detail = claimant_detail(session, slug, now=ctx.clock(), cache=ctx.crowd_cache)
    return ClaimantDetailOut(
        **claimant_out(detail.row).model_dump(),
        claims=detail.claims,
    )


@router.post(
    "/claimants",
    status_code=201,
    response_model=ClaimantDetailOut,
    response_model_by_alias=True,
    responses=responses(401, 403, 409, 422),
)
def post_claimant(
    data: ClaimantCreate, session: WriteSession, ctx: Ctx, _editor: Editor
) -> ClaimantDetailOut:
    claimant = create_claimant(session, data, now=ctx.clock(), record=record)
    return _detail(session, ctx, claimant.slug)


@router.patch(
    "/claimants/{slug}",
    response_model=ClaimantDetailOut,
    response_model_by_alias=True,
    responses=responses(401, 403, 404, 422),
)
def patch_claimant(
    slug: str, patch: ClaimantPatch, session: WriteSession, ctx: Ctx, _editor: Editor
) -> ClaimantDetailOut:
    claimant: Claimant = amend_claimant(session, slug, patch, now=ctx.clock(), record=record)
    return _detail(session, ctx, claimant.slug)


@router.get(
    "/claimants",
    response_model=Page[ClaimantOut],
    response_model_by_alias=True,
    responses=responses(422),
)
def get_claimants(
    session: ReadSession,
    metric: Annotated[Metric, Query(description="Sort key, descending, nulls last")] = (
        "claims_resolved"
    ),
    min_claims: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ClaimantOut]:
    """Claimants by their track record, best first by `metric`; ties by slug."""
    offset = decode_cursor(cursor) or 0
    rows, more = list_claimants(
        session, metric=metric, min_claims=min_claims, offset=offset, limit=limit
    )
    return Page(
        items=[claimant_out(row) for row in rows], next_cursor=offset_cursor(offset, limit, more)
    )


@router.get(
    "/claimants/{slug}",
    response_model=ClaimantDetailOut,
    response_model_by_alias=True,
    responses=responses(404),
)
def get_claimant(slug: str, session: ReadSession, ctx: Ctx) -> ClaimantDetailOut:
    """The claimant, its figures, and every published claim citing it."""
    return _detail(session, ctx, slug)
