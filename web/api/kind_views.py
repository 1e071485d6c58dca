"""Claims of other kinds in the API (SPEC §7): their fields, crowd, market and outcome."""

from typing import Any

from claims.clock import stamp
from claims.models import Claim
from claims.outcome_space import Space, recorded_outcome, space_of, space_record, unix_time
from claims.states import ClaimKind
from forecasts.score_math.distributions import cdf_quantile, reference_cdf
from forecasts.submit.shapes import scale_of

LEVELS = ("0.1", "0.25", "0.5", "0.75", "0.9")


def kind_fields(claim: Claim) -> dict[str, Any]:
    """`kind` and its fields as `POST /claims` takes them (dates as ISO times)."""
    return {"kind": claim.kind, **space_record(claim.kind, space_of(claim))}


def outcome_view(claim: Claim) -> Any:
    """The outcome: yes/no, a label, a number, or an ISO time (None until resolved)."""
    return recorded_outcome(claim.kind, claim.outcome, claim.outcome_value)


def distribution_view(kind: str, space: Space, values: list[float]) -> Any:
    """Multiple choice: {label: p}; numeric and date: the CDF and five quantiles."""
    if kind == ClaimKind.MULTIPLE_CHOICE:
        return dict(zip(space.options or [], values, strict=True))
    scale = scale_of(space)
    quantiles: dict[str, Any] = {}
    for level in LEVELS:
        x = cdf_quantile(scale, values, float(level))
        shown = x if x is None or kind != ClaimKind.DATE else stamp(unix_time(x))
        quantiles[level] = shown
    return {"cdf": values, "quantiles": quantiles}


def prior_values(kind: str, space: Space) -> list[float]:
    """The market before any forecast: uniform over the options, or the reference CDF."""
    if kind == ClaimKind.MULTIPLE_CHOICE:
        count = len(space.options or [])
        return [1 / count] * count
    return reference_cdf(scale_of(space))


def crowd_and_market(
    claim: Claim, crowd: list[float] | None, market: list[float] | None
) -> tuple[Any, Any]:
    """The crowd (None before any forecast) and the market of a non-binary claim."""
    space = space_of(claim)
    shown_crowd = None if crowd is None else distribution_view(claim.kind, space, crowd)
    values = market if market is not None else prior_values(claim.kind, space)
    return shown_crowd, distribution_view(claim.kind, space, values)


def history_view(claim: Claim, crowd: list[float] | None, market: list[float] | None) -> Any:
    """A history point: multiple choice per option; numeric and date quantiles only."""
    shown_crowd, shown_market = crowd_and_market(claim, crowd, market)
    if claim.kind != ClaimKind.MULTIPLE_CHOICE:
        shown_crowd = None if shown_crowd is None else {"quantiles": shown_crowd["quantiles"]}
        shown_market = {"quantiles": shown_market["quantiles"]}
    return {"crowd": shown_crowd, "market": shown_market}
