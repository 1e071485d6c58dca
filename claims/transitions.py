"""What a ledger entry does to its claim's row, as the values of the fields it sets.

The live code (settle, proposals, automatic resolution) and the replay that verify and restore
run (`forecasts/archive/replay.py`) apply the same changes, so the row a change writes and the
row its entry rebuilds are one rule, not two.
"""

from datetime import datetime
from typing import Any

from claims.states import STATE_OF_OUTCOME, ClaimState


def settled(outcome: str, value: float | None = None) -> dict[str, Any]:
    """`resolution_finalised`, `re_resolved`, `annulled`: the state, and the outcome kept.

    `outcome` is yes/no/annulled/ambiguous, a multiple-choice label, or (with `value`, the
    number or Unix seconds) a numeric or date claim's "value" (`outcome_space.VALUE`).
    """
    if value is not None:
        return {"state": ClaimState.RESOLVED, "outcome": None, "outcome_value": value}
    state = STATE_OF_OUTCOME.get(outcome, ClaimState.RESOLVED)  # else a label
    kept = outcome if state == ClaimState.RESOLVED else None
    return {"state": state, "outcome": kept, "outcome_value": None}


def proposed() -> dict[str, Any]:
    """`resolution_proposed`: the outcome waits out its challenge window."""
    return {"state": ClaimState.PROPOSED}


def reopened() -> dict[str, Any]:
    """`claim_reopened`: open again until the scheduled close, whose reveal is still to come."""
    return {"state": ClaimState.PUBLISHED, "closed_early_at": None, "close_recorded_seq": None}


def early_close(tc: datetime, closes_at: datetime) -> datetime | None:
    """`closed_early_at` for a Tc: the moment if before the scheduled close, else none."""
    return tc if tc < closes_at else None
