"""The recipient's own standing forecast in words, for a claim of any kind (SPEC §7, §9).

An email item says what the recipient stands at and nothing of anybody else: a binary
claim's probability, a multiple-choice claim's likeliest option with its probability, a
numeric or date claim's median in the claim's units.
"""

from datetime import UTC, datetime

from claims.clock import stamp
from claims.models import Claim
from claims.outcome_space import space_of
from claims.states import ClaimKind
from forecasts.ledger.packing import unpack
from forecasts.score_math.distributions import cdf_quantile
from forecasts.submit.shapes import scale_of


def percent(p: float | None) -> str:
    return "—" if p is None else f"{100 * p:.4f}".rstrip("0").rstrip(".") + "%"


def own_forecast(claim: Claim, probability: float | None, distribution: bytes | None) -> str:
    """A standing forecast (its probability, or its packed distribution) as a few words."""
    if claim.kind == ClaimKind.BINARY or distribution is None:
        return percent(probability)
    values = unpack(distribution)
    if claim.kind == ClaimKind.MULTIPLE_CHOICE:
        best = int(values.argmax())
        return f"{(claim.options or [])[best]} at {percent(float(values[best]))}"
    median = cdf_quantile(scale_of(space_of(claim)), values, 0.5)
    if median is None:  # half the mass or more beyond an open bound
        return "a median outside the claim's range"
    if claim.kind == ClaimKind.DATE:
        return f"a median of {stamp(datetime.fromtimestamp(median, UTC))}"
    return f"a median of {number(median)} {claim.unit or ''}".rstrip()


def number(x: float) -> str:
    """Four significant digits, whole numbers with thousands separators: 2,100,000."""
    rounded = float(f"{x:.4g}")
    return f"{int(rounded):,}" if rounded.is_integer() and abs(rounded) < 1e15 else f"{rounded:g}"
