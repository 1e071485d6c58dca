"""Per-forecaster totals of the scores (the leaderboard's table), kept up to date incrementally.

Whoever replaces Score rows passes the rows removed and the rows added to `apply_changes` in
the same transaction: each handle's sums move by the difference, so resolving one claim
touches only its own forecasters' totals and never re-aggregates the scores table.
`rebuild_totals` recomputes the whole table from the scores (for `rescore`).
"""

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Table,
    delete,
    func,
    insert,
    literal,
    select,
)

from forecasts.models import ForecasterTotals, Score

totals_t: Table = ForecasterTotals.__table__  # type: ignore[attr-defined]
scores_t: Table = Score.__table__  # type: ignore[attr-defined]

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
    "revision",
)


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
    for field in ("brier", "time_averaged_brier"):
        count = f"({t}.{field}_count + excluded.{field}_count)"
        total = f"({t}.{field}_sum + excluded.{field}_sum)"
        added += [
            f"{field}_count = {count}",
            # an emptied sum restarts at exactly 0, dropping what the subtractions left over
            f"{field}_sum = CASE WHEN {count} > 0 THEN {total} ELSE 0.0 END",
            f"mean_{field} = CASE WHEN {count} > 0 THEN {total} / {count} END",
        ]
    added.append("revision = excluded.revision")
    marks = ", ".join([mark] * len(_COLUMNS))
    return (
        f"INSERT INTO {t} ({', '.join(_COLUMNS)}) VALUES ({marks}) "
        f"ON CONFLICT (handle) DO UPDATE SET {', '.join(added)}"
    )


_UPSERT = {"qmark": _upsert_sql("?"), "format": _upsert_sql("%s"), "pyformat": _upsert_sql("%s")}


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

    def add(self, row: Mapping[str, Any], sign: int) -> None:
        self.claims_scored += sign
        if row["brier"] is not None:
            self.brier_sum += sign * row["brier"]
            self.brier_count += sign
        if row["time_averaged_brier"] is not None:
            self.time_averaged_brier_sum += sign * row["time_averaged_brier"]
            self.time_averaged_brier_count += sign
        self.peer_sum += sign * (row["peer_score"] or 0.0)
        self.coverage_sum += sign * row["coverage"]
        self.baseline_total += sign * (row["baseline_score"] or 0.0)
        if row["market_points"] is not None:
            self.market_points_sum += sign * row["market_points"]
            self.market_points_count += sign

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
            revision,
        )


def apply_changes(
    conn: Connection, removed: Iterable[Mapping[str, Any]], added: Iterable[Mapping[str, Any]]
) -> None:
    """Move the totals of every handle in `removed` or `added` (Score rows as mappings).

    A plain driver executemany of one upsert: resolving a claim with a thousand forecasters
    moves a thousand rows, and SQLAlchemy's per-row parameter handling would cost more than
    the statements themselves.
    """
    changes: dict[str, _Change] = {}
    for rows, sign in ((removed, -1), (added, 1)):
        for row in rows:
            change = changes.get(row["handle"])
            if change is None:
                change = changes[row["handle"]] = _Change(row["account_id"])
            change.add(row, sign)
    if not changes:
        return
    revision = new_revision()
    params = [change.values(handle, revision) for handle, change in changes.items()]
    conn.exec_driver_sql(_UPSERT[conn.dialect.paramstyle], params)
    conn.execute(delete(totals_t).where(totals_t.c.claims_scored <= 0))


def rebuild_totals(conn: Connection) -> int:
    """Recompute every handle's totals from the scores table; returns how many handles."""
    conn.execute(delete(totals_t))
    s = scores_t.c
    query = select(
        s.handle,
        func.min(s.account_id),
        func.count(),
        func.coalesce(func.sum(s.brier), 0.0),
        func.count(s.brier),
        func.avg(s.brier),
        func.coalesce(func.sum(s.time_averaged_brier), 0.0),
        func.count(s.time_averaged_brier),
        func.avg(s.time_averaged_brier),
        func.coalesce(func.sum(s.peer_score), 0.0),
        func.coalesce(func.sum(s.coverage), 0.0),
        func.coalesce(func.sum(s.baseline_score), 0.0),
        func.coalesce(func.sum(s.market_points), 0.0),
        func.count(s.market_points),
        literal(new_revision(), BigInteger),
    ).group_by(s.handle)
    conn.execute(insert(totals_t).from_select(list(_COLUMNS), query))
    # counted afterwards: drivers need not report the rowcount of INSERT … SELECT
    return int(conn.execute(select(func.count()).select_from(totals_t)).scalar_one())
