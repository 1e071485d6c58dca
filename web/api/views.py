"""Response shapes of the API (for OpenAPI and for checking every response against it)."""

from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, Field

from claims.clock import stamp
from claims.lifecycle import effective_close, status_at
from claims.models import Claim
from claims.states import ClaimKind
from forecasts.submit.probabilities import Probabilities
from forecasts.submit.service import ForecastRecord
from web.api.kind_views import crowd_and_market, kind_fields, outcome_view

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class ForecastOut(BaseModel):
    id: int
    claim: str
    handle: str
    probability: float | None = Field(default=None, description="binary claims")
    probabilities: dict[str, float] | None = Field(
        default=None, description="multiple choice: label -> p, as stored (normalised)"
    )
    cdf: list[float] | None = Field(default=None, description="numeric and date: 201 values")
    quantiles: list[list[Any]] | None = Field(
        default=None, description="the [level, value] pairs the CDF was made from, if any"
    )
    rationale: str | None
    created_at: str
    ledger_seq: int


def forecast_view(record: ForecastRecord) -> dict[str, Any]:
    """The API's shape of a forecast or withdrawal (SPEC §6), in its claim's kind (§7)."""
    when = record.at if isinstance(record.at, str) else stamp(record.at)
    head = {"id": record.id, "claim": record.claim, "handle": record.handle}
    if record.probability is None and record.shape is None:
        return {**head, "withdrawn_at": when, "ledger_seq": record.ledger_seq}
    said: dict[str, Any] = (
        {"probability": record.probability} if record.shape is None else dict(record.shape)
    )
    if record.quantiles is not None:
        said["quantiles"] = record.quantiles
    return {
        **head,
        **said,
        "rationale": record.rationale,
        "created_at": when,
        "ledger_seq": record.ledger_seq,
    }


def forecast_answer(record: ForecastRecord) -> str:
    """The text an Idempotency-Key replays: the view as first sent."""
    return orjson.dumps(forecast_view(record)).decode()


class WithdrawalOut(BaseModel):
    id: int
    claim: str
    handle: str
    withdrawn_at: str
    ledger_seq: int


class ClaimOut(BaseModel):
    slug: str
    title: str
    description: str
    resolution_criteria: str
    fine_print: str
    tags: list[str]
    status: str
    outcome: str | float | None = Field(
        description="yes/no (binary), a label, a number, or an ISO time (date); or annulled "
        "or ambiguous; null until settled"
    )
    kind: str = "binary"
    options: list[str] | None = None
    range_min: float | str | None = None
    range_max: float | str | None = None
    open_lower_bound: bool | None = None
    open_upper_bound: bool | None = None
    log_scale: bool | None = None
    unit: str | None = None
    opens_at: str
    closes_at: str
    resolves_at: str
    closed_at: str | None
    rules: list[dict[str, Any]]
    source: dict[str, Any] | None
    version: int
    crowd_probability: float | None
    market_probability: float | None = Field(description="binary claims; null for others")
    crowd: Any = Field(
        default=None,
        description="probability (binary), {label: p} (multiple choice), or "
        '{"cdf": [...], "quantiles": {...}} (numeric, date)',
    )
    market: Any = Field(default=None, description="as crowd")
    forecasters: int
    my_forecast: ForecastOut | None
    created_at: str
    updated_at: str


def claim_out(
    claim: Claim,
    tags: list[str],
    probabilities: Probabilities,
    now: datetime,
    mine: dict[str, Any] | None = None,
) -> ClaimOut:
    status = status_at(claim, now)
    closed = status not in ("draft", "upcoming", "open")
    crowd: Any = probabilities.crowd
    market: Any = probabilities.market
    if claim.kind != ClaimKind.BINARY:
        crowd, market = crowd_and_market(
            claim, probabilities.crowd_values, probabilities.market_values
        )
    return ClaimOut(
        **kind_fields(claim),
        slug=claim.slug,
        title=claim.title,
        description=claim.description,
        resolution_criteria=claim.resolution_criteria,
        fine_print=claim.fine_print,
        tags=tags,
        status=status,
        outcome=outcome_view(claim),
        opens_at=stamp(claim.opens_at),
        closes_at=stamp(claim.closes_at),
        resolves_at=stamp(claim.resolves_at),
        closed_at=stamp(effective_close(claim)) if closed and status != "draft" else None,
        rules=claim.rules,
        source=claim.source,
        version=claim.version,
        crowd_probability=probabilities.crowd if claim.kind == ClaimKind.BINARY else None,
        market_probability=market if claim.kind == ClaimKind.BINARY else None,
        crowd=crowd,
        market=market,
        forecasters=probabilities.forecasters,
        my_forecast=ForecastOut(**mine) if mine else None,
        created_at=stamp(claim.created_at),
        updated_at=stamp(claim.updated_at),
    )


class LedgerEntryOut(BaseModel):
    seq: int
    kind: str
    created_at: str
    payload_hash: str
    prev_hash: str
    hash: str
    payload: Any
    payload_version: int = Field(
        description="What a commitment's payload_hash covers (SPEC §3): 1 without rationale, 2 with"
    )


class LedgerHeadOut(BaseModel):
    seq: int
    hash: str


class HealthOut(BaseModel):
    status: str
    database: str
    ledger_head: LedgerHeadOut
