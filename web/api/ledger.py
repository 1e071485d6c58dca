"""The ledger in public: entries page by page, and the head."""

import json

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from claims.clock import stamp
from forecasts.ledger.chain import head
from forecasts.ledger.models import LedgerEntry
from web.api.paging import MAX_ID, Cursor, Limit, decode_cursor, keyset_page
from web.api.views import HealthOut, LedgerEntryOut, LedgerHeadOut, Page
from web.deps import ReadSession
from web.errors import responses

router = APIRouter(tags=["ledger"])


@router.get("/ledger", response_model=Page[LedgerEntryOut], responses=responses(422))
def list_entries(
    session: ReadSession,
    after: int | None = Query(
        default=None, ge=0, le=MAX_ID, description="Entries with seq above this"
    ),
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[LedgerEntryOut]:
    start = decode_cursor(cursor) if cursor is not None else after
    query = select(LedgerEntry).order_by(col(LedgerEntry.seq)).limit(limit + 1)
    if start is not None:
        query = query.where(col(LedgerEntry.seq) > start)
    entries, next_cursor = keyset_page(list(session.exec(query)), limit, lambda e: e.seq)
    items = [
        LedgerEntryOut(
            seq=e.seq,
            kind=e.kind,
            created_at=stamp(e.created_at),
            payload_hash=e.payload_hash,
            prev_hash=e.prev_hash,
            hash=e.hash,
            payload=None if e.payload is None else json.loads(e.payload),
            payload_version=e.payload_version,
        )
        for e in entries
    ]
    return Page(items=items, next_cursor=next_cursor)


@router.get("/ledger/head", response_model=LedgerHeadOut)
def ledger_head(session: ReadSession) -> LedgerHeadOut:
    seq, digest = head(session)
    return LedgerHeadOut(seq=seq, hash=digest)


health_router = APIRouter(tags=["health"])


@health_router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"description": "The database does not answer"}},
)
def health(session: ReadSession) -> HealthOut | JSONResponse:
    """The database answers, and the ledger's head."""
    try:
        seq, digest = head(session)
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return HealthOut(status="ok", database="ok", ledger_head=LedgerHeadOut(seq=seq, hash=digest))
