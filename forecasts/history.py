"""A claim's public probability history: the crowd and the market after each forecast.

Like a price chart, the history is public while the claim is open (SPEC §2): it names no
one, only the moments the probabilities moved and where they went.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from forecasts.crowd import MARKET_PRIOR, CrowdTracker
from forecasts.models import Forecast


@dataclass(frozen=True)
class HistoryPoint:
    """The crowd (None while nobody stands) and market probability from `at` on."""

    at: datetime
    crowd: float | None
    market: float


def history_of(events: Iterable[tuple[int, datetime, int, float | None]]) -> list[HistoryPoint]:
    """History from events (account id, time, ledger seq, probability or None for a withdrawal).

    One point per event, in ledger order; the market ignores withdrawals (SPEC §2).
    """
    tracker = CrowdTracker()
    market = MARKET_PRIOR
    points: list[HistoryPoint] = []
    for account, at, _seq, probability in sorted(events, key=lambda event: (event[1], event[2])):
        tracker.update(str(account), probability)
        if probability is not None:
            market = probability
        points.append(HistoryPoint(at, tracker.crowd(), market))
    return points


def probability_history(session: Session, claim_id: int) -> list[HistoryPoint]:
    """The claim's history from every forecast and withdrawal on it (imported ones too)."""
    rows = session.exec(
        select(Forecast.account_id, Forecast.created_at, Forecast.ledger_seq, Forecast.probability)
        .where(Forecast.claim_id == claim_id)
        .order_by(col(Forecast.created_at), col(Forecast.ledger_seq))
    )
    return history_of((row[0], row[1], row[2], row[3]) for row in rows)
