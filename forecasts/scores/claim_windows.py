"""What scoring needs to know of a resolved claim of any kind, and its events as a batch.

Settlement, the full rescore and the record check read claims three ways (a Claim row, raw
columns, the replay's dicts); each turns what it read into a `ClaimWindow` here, and a
claim's events into the `ClaimBatch` that `score_batch` scores.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from claims.lifecycle import effective_close
from claims.models import Claim
from claims.outcome_space import SHAPE_FIELDS
from claims.states import RANGE_KINDS, ClaimKind, ClaimState
from forecasts.ledger.driver import micros, micros_of
from forecasts.ledger.packing import unpack
from forecasts.score_math.batch_scoring import BINARY, MULTIPLE_CHOICE, NUMERIC, ClaimBatch
from forecasts.score_math.distributions import N_BINS, Scale, outcome_bucket

OUTCOME_VALUE = {"yes": 1, "no": 0}
# The claims columns a window is made of, besides the times.
KIND_COLUMNS = ("kind", "outcome", "outcome_value", *SHAPE_FIELDS)


@dataclass(frozen=True)
class ClaimWindow:
    """A resolved claim as scoring sees it.

    `outcome` is what the Score rows store: 1 or 0 (binary), the option's index (multiple
    choice), the outcome's bucket 0 … N + 1 (numeric and date). `kind` is the batch's kind
    (dates are scored as numbers); `options` is K, `scale` and `outcome_value` the range's.
    """

    id: int
    opens_at: datetime
    closes_at: datetime
    closed_at: datetime  # Tc
    resolves_at: datetime
    outcome: int
    kind: str = BINARY
    options: int = 0
    scale: Scale | None = None
    outcome_value: float = math.nan

    @classmethod
    def of(cls, claim: Claim) -> "ClaimWindow":
        assert claim.id is not None
        window = window_of(
            claim.id,
            {name: getattr(claim, name) for name in ("opens_at", "closes_at", "resolves_at")},
            {name: getattr(claim, name) for name in KIND_COLUMNS},
            closed_at=effective_close(claim),
        )
        assert window is not None, "the claim is not resolved"
        return window


def is_scored(state: str, fields: Mapping[str, Any]) -> bool:
    """Whether a claim in this state with these kind fields has scores (SPEC §4, §7)."""
    if state != ClaimState.RESOLVED:
        return False
    kind = fields.get("kind") or ClaimKind.BINARY
    if kind == ClaimKind.BINARY:
        return fields["outcome"] in OUTCOME_VALUE
    if kind == ClaimKind.MULTIPLE_CHOICE:
        return fields["outcome"] in (fields["options"] or [])
    return fields["outcome_value"] is not None


def window_of(
    claim_id: int,
    times: Mapping[str, datetime],
    fields: Mapping[str, Any],
    *,
    closed_at: datetime,
) -> ClaimWindow | None:
    """The window of a resolved claim from its times and KIND_COLUMNS; None if not scored."""
    if not is_scored(ClaimState.RESOLVED, fields):
        return None
    kind = fields.get("kind") or ClaimKind.BINARY
    common: dict[str, Any] = {
        "id": claim_id,
        "opens_at": times["opens_at"],
        "closes_at": times["closes_at"],
        "closed_at": closed_at,
        "resolves_at": times["resolves_at"],
    }
    if kind == ClaimKind.BINARY:
        return ClaimWindow(**common, outcome=OUTCOME_VALUE[fields["outcome"]])
    if kind == ClaimKind.MULTIPLE_CHOICE:
        options = list(fields["options"])
        return ClaimWindow(
            **common,
            outcome=options.index(fields["outcome"]),
            kind=MULTIPLE_CHOICE,
            options=len(options),
        )
    assert kind in RANGE_KINDS
    scale = Scale(
        float(fields["range_min"]),
        float(fields["range_max"]),
        log_scale=bool(fields["log_scale"]),
        open_lower=bool(fields["open_lower_bound"]),
        open_upper=bool(fields["open_upper_bound"]),
    )
    value = float(fields["outcome_value"])
    return ClaimWindow(
        **common,
        outcome=outcome_bucket(scale, value),
        kind=NUMERIC,
        scale=scale,
        outcome_value=value,
    )


def probabilities_of(values: Sequence[float | None]) -> npt.NDArray[np.float64]:
    """Floats, NaN for a null (as numpy converts None)."""
    return np.array(values, dtype=np.float64)


def distributions_of(packed: Sequence[bytes | None], width: int) -> npt.NDArray[np.float64]:
    """Packed distributions as rows of `width` (0 beyond a shorter one; NaN rows: withdrawals)."""
    rows = np.zeros((len(packed), width))
    for i, data in enumerate(packed):
        if data is None:
            rows[i] = np.nan
        else:
            values = unpack(data)
            rows[i, : len(values)] = values
    return rows


def claim_batch(
    windows: Sequence[ClaimWindow],
    sizes: Sequence[int],
    forecaster: Sequence[int] | npt.NDArray[np.int64],
    at: Sequence[Any] | npt.NDArray[np.int64],
    seq: Sequence[int] | npt.NDArray[np.int64],
    probability: Sequence[float | None] | npt.NDArray[np.float64],
    distribution: Sequence[bytes | None] | npt.NDArray[np.float64] | None = None,
) -> ClaimBatch:
    """A ClaimBatch from claims of one kind and their events (grouped by claim, `sizes` each)."""
    kind = windows[0].kind if windows else BINARY
    values: npt.NDArray[np.float64] | None = None
    if kind != BINARY:
        assert distribution is not None
        width = N_BINS + 1 if kind == NUMERIC else max(w.options for w in windows)
        values = (
            distribution
            if isinstance(distribution, np.ndarray)
            else distributions_of(distribution, width)
        )
    return ClaimBatch(
        opens_at=np.array([micros(w.opens_at) for w in windows], dtype=np.int64),
        closes_at=np.array([micros(w.closes_at) for w in windows], dtype=np.int64),
        closed_at=np.array([micros(w.closed_at) for w in windows], dtype=np.int64),
        outcome=np.array([w.outcome for w in windows], dtype=np.int64),
        bounds=np.concatenate(([0], np.cumsum(sizes, dtype=np.int64))),
        forecaster=np.asarray(forecaster, dtype=np.int64),
        at=at if isinstance(at, np.ndarray) else micros_of(at),
        seq=np.asarray(seq, dtype=np.int64),
        probability=probability
        if isinstance(probability, np.ndarray)
        else probabilities_of(probability),
        kind=kind,
        distribution=values,
        options=np.array([w.options for w in windows], dtype=np.int64),
        scales=tuple(w.scale for w in windows if w.scale is not None),
        outcome_value=np.array([w.outcome_value for w in windows]),
    )
