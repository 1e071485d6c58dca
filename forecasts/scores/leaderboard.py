"""Reading the scores: the leaderboard, a forecaster's profile, calibration and Murphy.

The leaderboard reads the per-forecaster totals (forecasts.scores.totals), which the transaction
that changes the scores keeps up to date, so a page costs one indexed query over at most one
row per forecaster. Only the bootstrap interval of `mean_brier` needs each claim's value; it
is computed for the rows on the page when asked for and cached by the totals' revision.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import ColumnElement, Integer, and_, case, func, literal_column, select
from sqlmodel import Session

from claims.errors import Invalid, NotFound
from claims.outcome_space import recorded_outcome
from forecasts.ledger.lru import LRUCache
from forecasts.ledger.models import SHELF_ROWS
from forecasts.ledger.tables import accounts_t, claims_t, scores_t, totals_t
from forecasts.score_math.aggregates import (
    CalibrationBin,
    Murphy,
    PitBin,
    bootstrap_mean_ci,
    calibration_bins,
    murphy_decomposition,
    peer_accuracy,
    pit_histogram,
)
from forecasts.score_math.scoring import CROWD_HANDLE, SCORE_FIELDS

DEFAULT_PEER_PRIOR = 10.0
Interval = tuple[float, float] | None
IntervalCache = LRUCache[tuple[str, int], Interval]
INTERVAL_CACHE_SIZE = 20_000


def _peer_expression(k: float) -> ColumnElement[Any]:
    coverage = totals_t.c.coverage_sum
    return totals_t.c.peer_sum / case((coverage > k, coverage), else_=k)


def _market_expression(_k: float) -> ColumnElement[Any]:
    c = totals_t.c
    return case((c.market_points_count > 0, c.market_points_sum), else_=None)


Metric = Literal[
    "mean_brier",
    "mean_time_averaged_brier",
    "peer_accuracy",
    "baseline_total",
    "market_points",
    "claims_scored",
    "mean_crps",
]
METRICS: tuple[str, ...] = get_args(Metric)

# metric -> (sort expression given K, ascending?): lower Brier is better, higher points are
_METRICS: dict[str, tuple[Callable[[float], ColumnElement[Any]], bool]] = {
    "mean_brier": (lambda _k: totals_t.c.mean_brier, True),
    "mean_time_averaged_brier": (lambda _k: totals_t.c.mean_time_averaged_brier, True),
    "peer_accuracy": (_peer_expression, False),
    "baseline_total": (lambda _k: totals_t.c.baseline_total, False),
    "market_points": (_market_expression, False),
    "claims_scored": (lambda _k: totals_t.c.claims_scored, False),
    "mean_crps": (lambda _k: totals_t.c.mean_crps, True),
}


@dataclass(frozen=True)
class LeaderboardRow:
    handle: str
    claims_scored: int
    mean_brier: float | None
    mean_brier_ci: tuple[float, float] | None
    mean_time_averaged_brier: float | None
    peer_accuracy: float
    baseline_total: float
    market_points: float | None
    mean_crps: float | None


def leaderboard(
    session: Session,
    *,
    metric: str = "mean_brier",
    min_claims: int = 1,
    offset: int = 0,
    limit: int = 50,
    k: float = DEFAULT_PEER_PRIOR,
    cache: IntervalCache | None = None,
) -> tuple[list[LeaderboardRow], bool]:
    """One page of the leaderboard, best first by `metric`, and whether more follow.

    Ascending for the Brier means, descending for the others; fields that are null sort
    last; ties go by handle. Only handles with at least `min_claims` scored claims appear.
    """
    if metric not in _METRICS:
        raise Invalid(["metric"], f"must be one of {', '.join(METRICS)}")
    expression, ascending = _METRICS[metric]
    key = expression(k)
    order = (key.asc() if ascending else key.desc()).nulls_last()
    rows = session.connection().execute(
        select(totals_t)
        .where(totals_t.c.claims_scored >= min_claims)
        .order_by(order, totals_t.c.handle)
        .offset(offset)
        .limit(limit + 1)
    )
    totals = [row._mapping for row in rows]
    if cache is not None:
        _warm_intervals(session, [(t["handle"], t["revision"]) for t in totals[:limit]], cache)
    page = [_row(session, dict(t), k, cache) for t in totals[:limit]]
    return page, len(totals) > limit


def _warm_intervals(session: Session, keys: list[tuple[str, int]], cache: IntervalCache) -> None:
    """The page's missing intervals, from one read of all their forecasters' briers: a cold
    page costs one query instead of one per row."""
    missing = [key for key in keys if key not in cache]
    for key, interval in _intervals(session, missing).items():
        cache.put(key, interval)


def _intervals(session: Session, keys: list[tuple[str, int]]) -> dict[tuple[str, int], Interval]:
    """Each handle's interval from its non-null briers in claim order, read in one query."""
    if not keys:
        return {}
    briers: dict[str, list[float]] = {handle: [] for handle, _ in keys}
    rows = session.connection().execute(
        select(scores_t.c.handle, scores_t.c.brier)
        .where(of_handles(session, list(briers)), scores_t.c.brier.is_not(None))
        .order_by(scores_t.c.handle, scores_t.c.claim_id)
    )
    for handle, brier in rows:
        briers[handle].append(float(brier))
    return {key: bootstrap_mean_ci(briers[key[0]], seed_text=key[0]) for key in keys}


def _row(
    session: Session, totals: dict[str, Any], k: float, cache: IntervalCache | None
) -> LeaderboardRow:
    market = totals["market_points_sum"] if totals["market_points_count"] else None
    return LeaderboardRow(
        handle=totals["handle"],
        claims_scored=totals["claims_scored"],
        mean_brier=totals["mean_brier"],
        mean_brier_ci=mean_brier_interval(session, totals["handle"], totals["revision"], cache),
        mean_time_averaged_brier=totals["mean_time_averaged_brier"],
        peer_accuracy=peer_accuracy(totals["peer_sum"], totals["coverage_sum"], k),
        baseline_total=totals["baseline_total"],
        market_points=market,
        mean_crps=totals["mean_crps"],
    )


def mean_brier_interval(
    session: Session, handle: str, revision: int, cache: IntervalCache | None = None
) -> tuple[float, float] | None:
    """95% bootstrap interval of the handle's mean Brier (seeded by the handle), cached."""
    key = (handle, revision)
    if cache is not None:
        try:
            return cache[key]
        except KeyError:  # not cached, or evicted by another request meanwhile
            pass
    interval = _intervals(session, [key])[key]
    if cache is not None:
        cache.put(key, interval)
    return interval


@dataclass(frozen=True)
class ClaimScore:
    """One Score row with the claim it belongs to; `figures` maps SCORE_FIELDS to values."""

    claim: str
    title: str
    resolves_at: datetime
    outcome: int
    probability_at_close: float | None
    pit: float | None  # numeric and date claims: F(u_o) at the close (SPEC §7)
    figures: dict[str, float | None]
    # the claim's outcome as the API shows it: yes/no, a label, a number or an ISO time
    claim_outcome: Any = None


@dataclass(frozen=True)
class Profile:
    handle: str
    summary: LeaderboardRow | None
    scores: list[ClaimScore]
    calibration: list[CalibrationBin]
    murphy: Murphy
    pit: list[PitBin]


def forecaster_profile(
    session: Session,
    handle: str,
    *,
    now: datetime,
    k: float = DEFAULT_PEER_PRIOR,
    cache: IntervalCache | None = None,
) -> Profile:
    """A forecaster's (or `@crowd`'s) totals, score rows, calibration and Murphy decomposition.

    Calibration and Murphy count only claims whose `resolves_at` has passed at `now`: claims
    that resolve early would bias them towards yes.
    """
    if handle != CROWD_HANDLE:
        known = session.connection().execute(
            select(accounts_t.c.id).where(accounts_t.c.handle == handle)
        )
        if known.first() is None:
            raise NotFound(f"no forecaster with handle {handle!r}")
    totals = session.connection().execute(select(totals_t).where(totals_t.c.handle == handle))
    found = totals.first()
    summary = None if found is None else _row(session, dict(found._mapping), k, cache)
    scores = claim_scores_of(session, handle)
    pairs = [
        (row.probability_at_close, row.outcome)
        for row in scores
        if row.probability_at_close is not None and row.resolves_at <= now
    ]
    return Profile(
        handle=handle,
        summary=summary,
        scores=scores,
        calibration=calibration_bins(pairs),
        murphy=murphy_decomposition(pairs),
        pit=pit_histogram(
            [row.pit for row in scores if row.pit is not None and row.resolves_at <= now]
        ),
    )


def claim_scores_of(session: Session, handle: str) -> list[ClaimScore]:
    """The handle's Score rows, newest claim first, with each claim's current `resolves_at`."""
    s = scores_t.c
    rows = session.connection().execute(
        select(
            claims_t.c.slug,
            claims_t.c.resolves_at,
            s.outcome,
            s.probability_at_close,
            s.pit,
            claims_t.c.title,
            claims_t.c.kind,
            claims_t.c.outcome,
            claims_t.c.outcome_value,
            *(s[name] for name in SCORE_FIELDS),
        )
        .join(claims_t, claims_t.c.id == s.claim_id)
        .where(of_handle(session, handle))
        .order_by(claims_t.c.resolves_at.desc(), claims_t.c.slug)
    )
    return [
        ClaimScore(
            claim=slug,
            resolves_at=resolves_at,
            outcome=outcome,
            probability_at_close=probability,
            pit=pit,
            title=title,
            figures=dict(zip(SCORE_FIELDS, figures, strict=True)),
            claim_outcome=recorded_outcome(kind, token, value),
        )
        for slug, resolves_at, outcome, probability, pit, title, kind, token, value, *figures in (
            rows
        )
    ]


def of_handle(session: Session, handle: str) -> ColumnElement[bool]:
    """The condition for the handle's Score rows, as `ix_scores_shelf_handle` answers it.

    The index files rows by (id / SHELF_ROWS, handle), so that new rows reach its newest
    shelf only (migration 0006); a handle's rows are one seek per shelf, every shelf from
    the lowest id's to the highest's named. (PostgreSQL's ids keep counting after a rescore
    deletes every row, so the lowest shelf is not always 0. The two ends are read by two
    subqueries: SQLite finds a min() or a max() through the key only when it is alone.)
    """
    return of_handles(session, [handle])


def of_handles(session: Session, handles: list[str]) -> ColumnElement[bool]:
    """`of_handle` for several handles at once: a seek per shelf and handle."""
    # the divisor as a literal, as the index has it: a bound `id / ?` does not match it
    shelf = scores_t.c.id // literal_column(str(SHELF_ROWS), Integer)
    return and_(shelf.in_(_shelves(session)), scores_t.c.handle.in_(handles))


def _shelves(session: Session) -> range:
    ids = scores_t.c.id
    first, last = (
        session.connection()
        .execute(
            select(select(func.min(ids)).scalar_subquery(), select(func.max(ids)).scalar_subquery())
        )
        .one()
    )
    return range((first or 0) // SHELF_ROWS, (last or 0) // SHELF_ROWS + 1)
