"""How far a claim's crowd has moved from its `crowd.moved` baseline, for every kind (SPEC §9).

A baseline keeps, as JSON: the probability (binary), `{label: p}` (multiple choice), or the
crowd's median on the internal scale, clipped to [0, 1] (numeric and date). The change is
|p - b|, the largest option change, or the median's change on the internal scale; events
show the median in real units (dates as ISO times).
"""

from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from claims.clock import stamp
from claims.models import Claim
from claims.outcome_space import space_of, unix_time
from claims.states import ClaimKind
from forecasts.ledger.models import Forecast
from forecasts.ledger.packing import unpack
from forecasts.score_math.distributions import GRID
from forecasts.submit.probabilities import Probabilities
from forecasts.submit.shapes import scale_of


def crowd_now(claim: Claim, probabilities: Probabilities) -> Any:
    """The crowd as a baseline keeps it; None before there is one."""
    if claim.kind == ClaimKind.BINARY:
        return probabilities.crowd
    values = probabilities.crowd_values
    if values is None:
        return None
    if claim.kind == ClaimKind.MULTIPLE_CHOICE:
        return dict(zip(claim.options or [], values, strict=True))
    # F is increasing, so the level 0.5 has one u; interp clips to the ends beyond F_0, F_N
    return float(np.interp(0.5, np.asarray(values), GRID))


def first_crowd(session: Session, claim: Claim) -> Any:
    """The claim's first crowd, as a baseline keeps it: the crowd of its first forecast alone,
    which is that forecast (a median, or a mean, of one); None before any."""
    f = Forecast
    first = session.exec(
        select(f.probability, f.distribution)
        .where(
            f.claim_id == claim.id,
            col(f.probability).is_not(None) | col(f.distribution).is_not(None),
        )
        .order_by(col(f.created_at), col(f.ledger_seq))
        .limit(1)
    ).first()
    if first is None:
        return None
    probability, distribution = first
    values = None if distribution is None else unpack(distribution).tolist()
    return crowd_now(claim, Probabilities(probability, 0.5, 1, 0, values, values))


def change(claim: Claim, baseline: Any, crowd: Any) -> float:
    if claim.kind == ClaimKind.MULTIPLE_CHOICE:
        return max(abs(float(p) - float(baseline.get(label, 0.0))) for label, p in crowd.items())
    return abs(float(crowd) - float(baseline))


def shown(claim: Claim, kept: Any) -> Any:
    """A kept crowd as the event shows it: the median in real units for numeric and date."""
    if claim.kind not in (ClaimKind.NUMERIC, ClaimKind.DATE):
        return kept
    median = scale_of(space_of(claim)).x(float(kept))
    return stamp(unix_time(median)) if claim.kind == ClaimKind.DATE else median
