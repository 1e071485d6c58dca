"""A forecast body as its claim's kind stores and commits it (SPEC §7).

`stored_form` takes the kind, its fields and the body's value; it gives the probability
(binary) or the packed distribution, the shape the commitment holds (`probabilities` or
`cdf`) and the quantiles kept for display, or raises `Invalid` naming the body's field.
"""

import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from claims.clock import stamp
from claims.errors import Invalid
from claims.outcome_space import Space, in_calendar
from claims.states import ClaimKind
from forecasts.ledger.packing import pack, unpack
from forecasts.score_math.distributions import Scale, cdf_from_quantiles, checked_cdf, normalise
from forecasts.submit.schemas import MAX_PROBABILITY, MIN_PROBABILITY

_SUM_TOLERANCE = 1e-6
_TAKES = {
    ClaimKind.BINARY: "'probability' or 'odds'",
    ClaimKind.MULTIPLE_CHOICE: "'probabilities'",
    ClaimKind.NUMERIC: "'cdf' or 'quantiles'",
    ClaimKind.DATE: "'cdf' or 'quantiles'",
}
_FIELDS = {
    ClaimKind.MULTIPLE_CHOICE: ("probabilities",),
    ClaimKind.NUMERIC: ("cdf", "quantiles"),
    ClaimKind.DATE: ("cdf", "quantiles"),
}


@dataclass(frozen=True)
class Stored:
    """What the forecasts row keeps of a non-binary body, and what its commitment holds."""

    distribution: bytes
    shape: dict[str, Any]  # {"probabilities": {label: p}} or {"cdf": [...]}
    quantiles: list[list[Any]] | None = None


def wrong_shape(kind: str, field: str) -> Invalid:
    return Invalid(field, f"a {kind} claim takes {_TAKES[ClaimKind(kind)]}, not {field!r}")


def scale_of(space: Space) -> Scale:
    assert space.range_min is not None and space.range_max is not None
    return Scale(
        space.range_min,
        space.range_max,
        space.log_scale,
        space.open_lower_bound,
        space.open_upper_bound,
    )


def stored_form(kind: str, space: Space, field: str, value: Any) -> Stored:
    """The body's `field` and `value` (not a binary body) for a claim of `kind`."""
    if field not in _FIELDS.get(ClaimKind(kind), ()):
        raise wrong_shape(kind, field)
    if field == "probabilities":
        return _choice(space.options or [], value)
    scale = scale_of(space)
    try:
        if field == "cdf":
            return _cdf(checked_cdf(scale, value))
        pairs = [(q, _real(kind, x)) for q, x in value]
        kept = [[q, stamp(x) if isinstance(x, datetime) else x] for q, x in value]
        return _cdf(cdf_from_quantiles(scale, pairs), kept)
    except ValueError as error:
        raise Invalid(field, str(error)) from None


def _real(kind: str, x: Any) -> float:
    """A quantile's value in real units: dates as Unix seconds."""
    if kind == ClaimKind.DATE:
        if not isinstance(x, datetime):
            raise ValueError("a date claim's quantile values are ISO-8601 times")
        if not in_calendar(x.timestamp()):
            raise ValueError("a quantile value lies too close to the end of year 9999")
        return x.timestamp()
    if isinstance(x, datetime):
        raise ValueError("quantile values must be numbers")
    return float(x)


def _cdf(cdf: list[float], quantiles: list[list[Any]] | None = None) -> Stored:
    return Stored(pack(cdf), {"cdf": cdf}, quantiles)


def _choice(options: list[str], given: dict[str, float]) -> Stored:
    by_label = {unicodedata.normalize("NFC", label): p for label, p in given.items()}
    missing = [label for label in options if label not in by_label]
    extra = [label for label in by_label if label not in options]
    if missing or extra or len(by_label) != len(given):
        problem = f"missing {missing!r}" if missing else f"not an option: {extra!r}"
        raise Invalid("probabilities", f"name every option once ({problem})")
    for label, p in by_label.items():
        if not MIN_PROBABILITY <= p <= MAX_PROBABILITY:
            bounds = f"{MIN_PROBABILITY} and {MAX_PROBABILITY}"
            raise Invalid(["probabilities", label], f"must be between {bounds}")
    ordered = [by_label[label] for label in options]
    if abs(math.fsum(ordered) - 1) > _SUM_TOLERANCE:
        raise Invalid("probabilities", "must sum to 1 (within 1e-6)")
    stored = normalise(ordered)
    return Stored(pack(stored), {"probabilities": dict(zip(options, stored, strict=True))})


def shape_of(kind: str, options: list[str] | None, data: bytes | None) -> dict[str, Any] | None:
    """`committed_shape`, or None for a binary forecast or a withdrawal."""
    return None if data is None else committed_shape(kind, options, data)


def committed_shape(kind: str, options: list[str] | None, data: bytes) -> dict[str, Any]:
    """The commitment's shape of a stored distribution (the inverse of `Stored.shape`)."""
    values = unpack(data).tolist()
    if kind == ClaimKind.MULTIPLE_CHOICE:
        return {"probabilities": dict(zip(options or [], values, strict=True))}
    return {"cdf": values}


def packed_shape(kind: str, options: list[str] | None, shape: dict[str, Any]) -> bytes:
    """The stored distribution of a committed (revealed or imported) shape."""
    if kind == ClaimKind.MULTIPLE_CHOICE:
        return pack(shape["probabilities"][label] for label in options or [])
    return pack(shape["cdf"])
