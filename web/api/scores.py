"""Resolution by editors, scores of resolved claims, the leaderboard and forecaster profiles."""

import math
from collections.abc import Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, create_model
from sqlmodel import col, select

from claims.errors import Conflict
from claims.states import ClaimState
from forecasts.ledger.models import Score
from forecasts.score_math.aggregates import CalibrationBin, Murphy
from forecasts.score_math.scoring import SCORE_FIELDS
from forecasts.scores.leaderboard import (
    LeaderboardRow,
    Metric,
    leaderboard,
)
from web.api.claims import visible_claim
from web.api.paging import Cursor, Limit, decode_cursor, keyset_page, offset_cursor
from web.api.views import Page
from web.deps import Ctx, MaybeCaller, ReadSession
from web.errors import responses

router = APIRouter(tags=["scores"])


class LeaderboardOut(BaseModel):
    handle: str
    claims_scored: int
    mean_brier: float | None
    mean_brier_ci: tuple[float, float] | None
    mean_time_averaged_brier: float | None
    peer_accuracy: float | None
    baseline_total: float | None
    market_points: float | None
    mean_crps: float | None


class CalibrationOut(BaseModel):
    bin: int
    mean_forecast: float | None
    observed_frequency: float | None
    count: int


# The response models of score rows and the Murphy decomposition take their figures from the
# one declaration of each (ScoreRow's fields as SCORE_FIELDS, the Murphy dataclass): a figure
# added there appears here. Only `coverage` (and Murphy's `count`) is never null. mypy cannot
# see fields made at run time, so to it these are plain models.
if TYPE_CHECKING:
    ScoreOut = BaseModel
    ClaimScoreOut = BaseModel
    MurphyOut = BaseModel
else:
    ScoreOut = create_model(
        "ScoreOut",
        handle=str,
        **{name: float if name == "coverage" else float | None for name in SCORE_FIELDS},
    )
    ClaimScoreOut = create_model(
        "ClaimScoreOut",
        __base__=ScoreOut,
        claim=str,
        outcome=str | float,  # yes/no, a label, a number or an ISO time (SPEC §7)
        probability_at_close=float | None,
    )
    MurphyOut = create_model("MurphyOut", **{f.name: f.type for f in fields(Murphy)})


class PitOut(BaseModel):
    bin: int
    count: int


class ForecasterOut(BaseModel):
    handle: str
    summary: LeaderboardOut | None
    scores: list[ClaimScoreOut]
    calibration: list[CalibrationOut]
    murphy: MurphyOut
    pit: list[PitOut]


def _finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity: an undefined figure is null."""
    return value if value is not None and math.isfinite(value) else None


_MURPHY_FIGURES = [f.name for f in fields(Murphy) if f.name != "count"]


def _score_fields(figures: Mapping[str, float | None]) -> dict[str, Any]:
    """The figures of a score row (SCORE_FIELDS), undefined ones as null."""
    return {name: _finite(figures[name]) for name in SCORE_FIELDS}


def _figures(row: Score) -> dict[str, float | None]:
    return {name: getattr(row, name) for name in SCORE_FIELDS}


def score_view(handle: str, figures: Mapping[str, float | None]) -> dict[str, Any]:
    """`ScoreOut`'s JSON without the model: a resolution writes a thousand of them into
    `forecast.scored` events (web/notifications.py), where the model took 16 µs each."""
    return {"handle": handle, **_score_fields(figures)}


def score_out(row: Score) -> ScoreOut:
    """One row of `GET /claims/{slug}/scores`."""
    return ScoreOut(**score_view(row.handle, _figures(row)))


@router.get(
    "/claims/{slug}/scores", response_model=Page[ScoreOut], responses=responses(401, 404, 409, 422)
)
def get_scores(
    slug: str, session: ReadSession, caller: MaybeCaller, cursor: Cursor = None, limit: Limit = 50
) -> Page[ScoreOut]:
    """One row per forecaster with coverage, and `@crowd`; a 409 unless the claim is resolved."""
    claim = visible_claim(session, slug, caller)
    if claim.state != ClaimState.RESOLVED:
        raise Conflict(f"the claim is {claim.state}, not resolved: it has no scores")
    query = select(Score).where(Score.claim_id == claim.id).order_by(col(Score.id)).limit(limit + 1)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(col(Score.id) > after)
    rows, next_cursor = keyset_page(list(session.exec(query)), limit, lambda r: r.id)
    items = [score_out(row) for row in rows]
    return Page(items=items, next_cursor=next_cursor)


def _leaderboard_out(row: LeaderboardRow) -> LeaderboardOut:
    interval = row.mean_brier_ci
    if interval is not None and not all(map(math.isfinite, interval)):
        interval = None
    return LeaderboardOut(
        handle=row.handle,
        claims_scored=row.claims_scored,
        mean_brier=_finite(row.mean_brier),
        mean_brier_ci=interval
        if interval is not None and all(map(math.isfinite, interval))
        else None,
        mean_time_averaged_brier=_finite(row.mean_time_averaged_brier),
        peer_accuracy=_finite(row.peer_accuracy),
        baseline_total=_finite(row.baseline_total),
        market_points=_finite(row.market_points),
        mean_crps=_finite(row.mean_crps),
    )


@router.get("/leaderboard", response_model=Page[LeaderboardOut], responses=responses(422))
def get_leaderboard(
    session: ReadSession,
    ctx: Ctx,
    metric: Annotated[Metric, Query(description="Sort key; Brier means ascend, others descend")] = (
        "mean_brier"
    ),
    min_claims: Annotated[int, Query(ge=0, le=1_000_000)] = 1,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[LeaderboardOut]:
    """Forecasters (and `@crowd`) over resolved claims, best first by `metric`."""
    offset = decode_cursor(cursor) or 0
    rows, more = leaderboard(
        session,
        metric=metric,
        min_claims=min_claims,
        offset=offset,
        limit=limit,
        k=ctx.settings.peer_accuracy_prior,
        cache=ctx.interval_cache,
    )
    items = [_leaderboard_out(row) for row in rows]
    return Page(items=items, next_cursor=offset_cursor(offset, limit, more))


def _calibration_out(cell: CalibrationBin) -> CalibrationOut:
    return CalibrationOut(
        bin=cell.bin,
        mean_forecast=_finite(cell.mean_forecast),
        observed_frequency=_finite(cell.observed_frequency),
        count=cell.count,
    )


@router.get("/forecasters/{handle}", response_model=ForecasterOut, responses=responses(404, 422))
def get_forecaster(handle: str, session: ReadSession, ctx: Ctx) -> ForecasterOut:
    """Totals, every score, calibration at close and its Murphy decomposition."""
    profile = ctx.profile(session, handle)
    murphy = profile.murphy
    return ForecasterOut(
        handle=profile.handle,
        summary=None if profile.summary is None else _leaderboard_out(profile.summary),
        scores=[
            ClaimScoreOut(
                claim=row.claim,
                outcome=row.claim_outcome,
                probability_at_close=row.probability_at_close,
                handle=profile.handle,
                **_score_fields(row.figures),
            )
            for row in profile.scores
        ],
        calibration=[_calibration_out(cell) for cell in profile.calibration],
        murphy=MurphyOut(
            **{name: _finite(getattr(murphy, name)) for name in _MURPHY_FIGURES},
            count=murphy.count,
        ),
        pit=[PitOut(bin=cell.bin, count=cell.count) for cell in profile.pit],
    )
