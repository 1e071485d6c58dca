"""Per-forecaster totals of the scores (the leaderboard's table), kept up to date incrementally.

Whoever replaces Score rows passes the rows removed and the rows added to `apply_changes` in
the same transaction: each handle's sums move by the difference, so resolving one claim
touches only its own forecasters' totals and never re-aggregates the scores table.
`replace_totals` recomputes the whole table from score columns already in memory (what
`rescore` does, having just written those rows).
"""

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    Connection,
    delete,
)

from forecasts.ledger.driver import mark_of, marks
from forecasts.ledger.tables import totals_t

_COLUMNS = (
    "handle",
    "account_id",
    "claims_scored",
    "brier_sum",
    "brier_count",
    "mean_brier",
    "time_averaged_brier_sum",
    "time_averaged_brier_count",
    "mean_time_averaged_brier",
    "peer_sum",
    "coverage_sum",
    "baseline_total",
    "market_points_sum",
    "market_points_count",
    "crps_sum",
    "crps_count",
    "mean_crps",
    "revision",
)


@cache  # one per driver
def _upsert_sql(mark: str) -> str:
    """One statement per handle: insert its change, or add it to the row already there."""
    t = totals_t.name
    added = [
        f"{name} = {t}.{name} + excluded.{name}"
        for name in (
            "claims_scored",
            "peer_sum",
            "coverage_sum",
            "baseline_total",
            "market_points_sum",
            "market_points_count",
        )
    ]
    for field in ("brier", "time_averaged_brier", "crps"):
        count = f"({t}.{field}_count + excluded.{field}_count)"
        total = f"({t}.{field}_sum + excluded.{field}_sum)"
        added += [
            f"{field}_count = {count}",
            # an emptied sum restarts at exactly 0, dropping what the subtractions left over
            f"{field}_sum = CASE WHEN {count} > 0 THEN {total} ELSE 0.0 END",
            f"mean_{field} = CASE WHEN {count} > 0 THEN {total} / {count} END",
        ]
    added.append("revision = excluded.revision")
    return (
        f"INSERT INTO {t} ({', '.join(_COLUMNS)}) VALUES ({marks(mark, len(_COLUMNS))}) "
        f"ON CONFLICT (handle) DO UPDATE SET {', '.join(added)}"
    )


# A Score row as the totals read it: handle, account_id, brier, time_averaged_brier, coverage,
# peer_score, baseline_score, market_points, crps.
TotalsRow = tuple[Any, ...]


def new_revision() -> int:
    """A fresh revision number: never reused, so a cache keyed by it cannot serve stale data."""
    return secrets.randbits(62)


@dataclass
class _Change:
    """How one handle's totals move: counts and sums, signed."""

    account_id: int | None
    claims_scored: int = 0
    brier_sum: float = 0.0
    brier_count: int = 0
    time_averaged_brier_sum: float = 0.0
    time_averaged_brier_count: int = 0
    peer_sum: float = 0.0
    coverage_sum: float = 0.0
    baseline_total: float = 0.0
    market_points_sum: float = 0.0
    market_points_count: int = 0
    crps_sum: float = 0.0
    crps_count: int = 0

    def add(self, row: TotalsRow, sign: int) -> None:
        _, _, brier, average, coverage, peer, baseline, market, crps = row
        self.claims_scored += sign
        if brier is not None:
            self.brier_sum += sign * brier
            self.brier_count += sign
        if average is not None:
            self.time_averaged_brier_sum += sign * average
            self.time_averaged_brier_count += sign
        self.peer_sum += sign * (peer or 0.0)
        self.coverage_sum += sign * coverage
        self.baseline_total += sign * (baseline or 0.0)
        if market is not None:
            self.market_points_sum += sign * market
            self.market_points_count += sign
        if crps is not None:
            self.crps_sum += sign * crps
            self.crps_count += sign

    def values(self, handle: str, revision: int) -> tuple[Any, ...]:
        """The row inserted for a handle that has none yet (the upsert's VALUES)."""
        return (
            handle,
            self.account_id,
            self.claims_scored,
            self.brier_sum,
            self.brier_count,
            self.brier_sum / self.brier_count if self.brier_count > 0 else None,
            self.time_averaged_brier_sum,
            self.time_averaged_brier_count,
            self.time_averaged_brier_sum / self.time_averaged_brier_count
            if self.time_averaged_brier_count > 0
            else None,
            self.peer_sum,
            self.coverage_sum,
            self.baseline_total,
            self.market_points_sum,
            self.market_points_count,
            self.crps_sum,
            self.crps_count,
            self.crps_sum / self.crps_count if self.crps_count > 0 else None,
            revision,
        )


def apply_changes(
    conn: Connection, removed: Iterable[TotalsRow], added: Iterable[TotalsRow]
) -> None:
    """Move the totals of every handle in `removed` or `added` (Score rows as `TotalsRow`s).

    A plain driver executemany of one upsert: resolving a claim with a thousand forecasters
    moves a thousand rows, and SQLAlchemy's per-row parameter handling would cost more than
    the statements themselves.
    """
    changes: dict[str, _Change] = {}
    for rows, sign in ((removed, -1), (added, 1)):
        for row in rows:
            change = changes.get(row[0])
            if change is None:
                change = changes[row[0]] = _Change(row[1])
            change.add(row, sign)
    if not changes:
        return
    revision = new_revision()
    params = [change.values(handle, revision) for handle, change in changes.items()]
    conn.exec_driver_sql(_upsert_sql(mark_of(conn)), params)
    conn.execute(delete(totals_t).where(totals_t.c.claims_scored <= 0))


def replace_totals(
    conn: Connection,
    forecasters: Sequence[tuple[str, int | None]],
    who: npt.NDArray[np.int64],
    scores: Mapping[str, npt.NDArray[np.float64]],
) -> int:
    """Replace every total with sums of Score rows given as columns; returns how many handles.

    `who` indexes `forecasters` (handle, account id) row by row; `scores` holds the columns
    `_Change.add` reads, NaN for null. Each handle's values are added in row order, one at a
    time, as SQL's SUM over the rows in the same order would (a GROUP BY over the scores table
    gives the same figures).
    """
    size = len(forecasters)
    sums: dict[str, Any] = {"claims_scored": np.bincount(who, minlength=size)}
    for name in ("brier", "time_averaged_brier", "market_points", "crps"):
        given = ~np.isnan(scores[name])
        sums[f"{name}_sum"] = np.bincount(who[given], scores[name][given], minlength=size)
        sums[f"{name}_count"] = np.bincount(who[given], minlength=size)
    for total, name in (
        ("peer_sum", "peer_score"),
        ("coverage_sum", "coverage"),
        ("baseline_total", "baseline_score"),
    ):
        sums[total] = np.bincount(who, scores[name], minlength=size)
    revision = new_revision()
    rows = []
    for i in np.flatnonzero(sums["claims_scored"] > 0).tolist():
        change = _Change(
            forecasters[i][1],
            **{name: value[i].item() for name, value in sums.items()},
        )
        rows.append(change.values(forecasters[i][0], revision))
    conn.execute(delete(totals_t))
    if rows:
        conn.exec_driver_sql(_upsert_sql(mark_of(conn)), rows)
    return len(rows)
