"""The crowd of a claim of another kind (SPEC §7) over time: public, like binary histories.

It names no one: only the moments the crowd moved and where it went, computed from the
standing distributions (oldest first, §2's weights) after each forecast or withdrawal. A
long history is read at `MAX_POINTS` evenly spaced events, enough for a plot.
"""

from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlmodel import Session

from claims.models import Claim
from claims.states import ClaimKind
from forecasts.ledger.packing import unpack
from forecasts.ledger.tables import forecasts_t
from forecasts.score_math.distributions import mc_crowd, numeric_crowd

MAX_POINTS = 300


def crowd_history(session: Session, claim: Claim) -> list[tuple[datetime, list[float] | None]]:
    """(time, the crowd's values then: probabilities in options order, or the CDF; None
    while nobody stands) after each change, oldest first."""
    f = forecasts_t.c
    rows = session.connection().execute(
        select(f.account_id, f.created_at, f.ledger_seq, f.distribution)
        .where(f.claim_id == claim.id)
        .order_by(f.created_at, f.ledger_seq)
    )
    events = list(rows)
    keep = set(np.linspace(0, len(events) - 1, min(len(events), MAX_POINTS)).round().astype(int))
    standing: dict[int, list[float]] = {}  # insertion order: oldest standing first
    points: list[tuple[datetime, list[float] | None]] = []
    for index, (account, at, _seq, packed) in enumerate(events):
        standing.pop(account, None)
        if packed is not None:
            standing[account] = unpack(packed).tolist()
        if index in keep:
            points.append((at, _crowd(claim.kind, list(standing.values()))))
    return points


def _crowd(kind: str, values: list[list[float]]) -> list[float] | None:
    if not values:
        return None
    if kind == ClaimKind.MULTIPLE_CHOICE:
        return mc_crowd(values)
    mean = numeric_crowd(values)
    return None if mean is None else [float(v) for v in mean]
