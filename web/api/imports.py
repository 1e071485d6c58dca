"""Admins bring in history from elsewhere."""

from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel

from forecasts.archive.importing import ImportedForecast, import_forecasts
from web.deps import Admin, Ctx, WriteSession
from web.errors import responses

router = APIRouter(tags=["import"])


class ImportResult(BaseModel):
    imported: int
    ledger_seqs: list[int]


@router.post(
    "/import/forecasts",
    status_code=201,
    response_model=ImportResult,
    responses=responses(401, 403, 409, 422),
)
def post_import(
    rows: Annotated[list[ImportedForecast], Body(max_length=10_000)],
    session: WriteSession,
    ctx: Ctx,
    admin: Admin,
) -> ImportResult:
    seqs = import_forecasts(session, rows, now=ctx.clock())
    return ImportResult(imported=len(seqs), ledger_seqs=seqs)
