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
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from forecasts.models import ForecasterTotals, Score

totals_t: Table = ForecasterTotals.__table__  # type: ignore[attr-defined]
scores_t: Table = Score.__table__  # type: ignore[attr-defined]

# (sum column, count column, mean column) of the two means the table keeps
_MEANS = (
    ("brier_sum", "brier_count", "mean_brier"),
    ("time_averaged_brier_sum", "time_averaged_brier_count", "mean_time_averaged_brier"),
)
_SUMS = ("peer_sum", "coverage_sum", "baseline_total", "market_points_sum")
_COUNTS = ("claims_scored", "brier_count", "time_averaged_brier_count", "market_points_count")


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
        for field, column in (("brier", "brier"), ("time_averaged_brier", "time_averaged_brier")):
            value = row[column]
            if value is not None:
                setattr(self, f"{field}_sum", getattr(self, f"{field}_sum") + sign * value)
                setattr(self, f"{field}_count", getattr(self, f"{field}_count") + sign)
        self.peer_sum += sign * (row["peer_score"] or 0.0)
        self.coverage_sum += sign * row["coverage"]
        self.baseline_total += sign * (row["baseline_score"] or 0.0)
        if row["market_points"] is not None:
            self.market_points_sum += sign * row["market_points"]
            self.market_points_count += sign


def apply_changes(
    conn: Connection, removed: Iterable[Mapping[str, Any]], added: Iterable[Mapping[str, Any]]
) -> None:
    """Move the totals of every handle in `removed` or `added` (Score rows as mappings)."""
    changes: dict[str, _Change] = {}
    for rows, sign in ((removed, -1), (added, 1)):
        for row in rows:
            change = changes.setdefault(row["handle"], _Change(row["account_id"]))
            change.add(row, sign)
    if not changes:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(totals_t).on_conflict_do_nothing(index_elements=["handle"]),
        [
            {"handle": handle, "account_id": change.account_id, "revision": 0}
            | dict.fromkeys(_COUNTS, 0)
            | dict.fromkeys(("brier_sum", "time_averaged_brier_sum", *_SUMS), 0.0)
            for handle, change in changes.items()
        ],
    )
    conn.execute(_update_statement(), _update_params(changes))
    conn.execute(delete(totals_t).where(totals_t.c.claims_scored <= 0))


def _update_statement() -> Any:
    c = totals_t.c
    values: dict[str, Any] = {"revision": bindparam("p_revision")}
    for name in ("claims_scored", *_SUMS):
        values[name] = c[name] + bindparam(f"p_{name}")
    for total, count, mean in _MEANS:
        new_count = c[count] + bindparam(f"p_{count}")
        new_sum = c[total] + bindparam(f"p_{total}")
        values[count] = new_count
        # an emptied sum restarts at exactly 0, dropping the rounding left by the subtractions
        values[total] = case((new_count > 0, new_sum), else_=0.0)
        values[mean] = case((new_count > 0, new_sum / new_count), else_=None)
    values["market_points_count"] = c.market_points_count + bindparam("p_market_points_count")
    return update(totals_t).where(c.handle == bindparam("p_handle")).values(values)


def _update_params(changes: dict[str, _Change]) -> list[dict[str, Any]]:
    revision = new_revision()
    names = (*_COUNTS, *_SUMS, "brier_sum", "time_averaged_brier_sum")
    return [
        {"p_handle": handle, "p_revision": revision}
        | {f"p_{name}": getattr(change, name) for name in names}
        for handle, change in changes.items()
    ]


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
    columns = [
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
    ]
    result = conn.execute(insert(totals_t).from_select(columns, query))
    return int(result.rowcount)
