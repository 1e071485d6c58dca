"""What a claim page shows of a claim that is a number, a date or a choice (SPEC §7).

It reads the API's own shape of the claim (`ClaimOut`: the crowd, and the caller's own
forecast only) and the public history, so a page never holds another forecaster's
distribution while the claim is open.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from claims.models import Claim
from claims.outcome_space import Space, outcome_of_record
from claims.states import ClaimKind
from forecasts.ledger.packing import unpack
from forecasts.score_math.distributions import Scale
from web.api.views import ClaimOut
from web.pages.charts import LineChart
from web.pages.kind_charts import (
    BAR_WIDTH,
    DensityChart,
    OptionBar,
    band_chart,
    band_point,
    density_chart,
    level_text,
    option_bars,
    option_history_chart,
)
from web.pages.quantities import Quantity, parse_date

# the quantile rows a new forecast form offers (levels in percent), as §7's 2 to 5 pairs
FORM_LEVELS = ("10", "25", "50", "75", "90")


def quantity_of(claim: Claim | Space, kind: str | None = None) -> Quantity | None:
    """A numeric or date claim's scale and unit (a claim, or a kind and its fields); None
    for other kinds."""
    kind = kind or getattr(claim, "kind", None)
    if kind not in (ClaimKind.NUMERIC, ClaimKind.DATE):
        return None
    assert claim.range_min is not None and claim.range_max is not None
    scale = Scale(
        claim.range_min,
        claim.range_max,
        claim.log_scale,
        claim.open_lower_bound,
        claim.open_upper_bound,
    )
    return Quantity(scale, is_date=kind == ClaimKind.DATE, unit=claim.unit)


@dataclass
class KindView:
    """The kind's facts, plots and forecast form for one claim page."""

    kind: str
    quantity: Quantity | None = None
    options: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    density: DensityChart | None = None
    band: LineChart | None = None
    bars: list[OptionBar] = field(default_factory=list)
    option_chart: LineChart | None = None
    bar_width: int = BAR_WIDTH
    option_keys: list[tuple[str, str]] = field(default_factory=list)  # (css, label)
    outcome: str | None = None  # the outcome in words, once resolved
    mine: str | None = None  # the caller's standing forecast in words
    # what the form shows: typed values after an error, else the standing forecast's
    values: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _facts(claim: Claim, quantity: Quantity | None) -> list[tuple[str, str]]:
    if claim.kind == ClaimKind.MULTIPLE_CHOICE:
        facts = [("Kind", "multiple choice"), ("Options", ", ".join(claim.options or []))]
        if claim.outcome and claim.outcome not in ("annulled", "ambiguous"):
            facts.append(("Outcome", claim.outcome))
        return facts
    assert quantity is not None
    scale = quantity.scale
    facts = [
        ("Kind", "a date" if quantity.is_date else "a number"),
        ("Range", f"{quantity.text(scale.range_min)} to {quantity.text(scale.range_max)}"),
    ]
    if quantity.unit:
        facts.append(("Unit", quantity.unit))
    below = "possible" if scale.open_lower else "not possible"
    above = "possible" if scale.open_upper else "not possible"
    facts.append(("Outside the range", f"below: {below}; above: {above}"))
    if scale.log_scale:
        facts.append(("Scale", "logarithmic"))
    if claim.outcome_value is not None:
        facts.append(("Outcome", quantity.text(claim.outcome_value)))
    return facts


def outcome_text(claim: Claim) -> str | None:
    """The outcome in words, for every kind: 'yes', an option, '2.1M USD', '30 Jun 2027'
    (not the stored number or time); None before it is known."""
    quantity = quantity_of(claim)
    if quantity is not None and claim.outcome_value is not None:
        return quantity.text(claim.outcome_value)
    return claim.outcome


def recorded_text(claim: Claim, recorded: Any) -> str | None:
    """An outcome as a ledger entry records it (a token, a number, an ISO time) in words."""
    if recorded is None:
        return None
    token, value = outcome_of_record(claim.kind, recorded)
    quantity = quantity_of(claim)
    return token if value is None or quantity is None else quantity.text(value)


def _mine(out: ClaimOut) -> dict[str, Any] | None:
    return out.my_forecast.model_dump() if out.my_forecast is not None else None


def _choice_values(options: Sequence[str], mine: Mapping[str, Any] | None) -> dict[str, str]:
    given = (mine or {}).get("probabilities") or {}
    return {
        f"option_{i}": f"{100 * given[label]:.4f}".rstrip("0").rstrip(".") if label in given else ""
        for i, label in enumerate(options)
    }


def _quantile_values(quantity: Quantity, mine: Mapping[str, Any] | None) -> dict[str, str]:
    pairs = (mine or {}).get("quantiles") or []
    values: dict[str, str] = {}
    for row in range(len(FORM_LEVELS)):
        if pairs:
            level, value = pairs[row] if row < len(pairs) else ("", None)
            values[f"q_{row}"] = f"{100 * level:g}" if level != "" else ""
            values[f"x_{row}"] = "" if value is None else quantity.field(_real(quantity, value))
        else:
            values[f"q_{row}"], values[f"x_{row}"] = FORM_LEVELS[row], ""
    return values


def _real(quantity: Quantity, value: Any) -> float:
    """A value as the API gives it (dates as ISO times) in real units."""
    return parse_date(value) if isinstance(value, str) else float(value)


def kind_view(
    claim: Claim,
    out: ClaimOut,
    history: Sequence[tuple[datetime, Sequence[float] | None]],
    *,
    start: datetime,
    end: datetime,
) -> KindView | None:
    """The view of a claim of another kind than binary; None for a binary claim.

    `history` is the crowd after each change: (time, its probabilities in options order or
    its CDF; None while nobody stands).
    """
    if claim.kind == ClaimKind.BINARY:
        return None
    quantity = quantity_of(claim)
    mine = _mine(out)
    view = KindView(claim.kind, quantity, list(claim.options or []), _facts(claim, quantity))
    view.outcome = outcome_text(claim)
    if mine is not None:
        view.mine = _words(claim, quantity, mine.get("probabilities"), mine.get("cdf"))
    if claim.kind == ClaimKind.MULTIPLE_CHOICE:
        crowd = _in_order(view.options, out.crowd)
        own = _in_order(view.options, (mine or {}).get("probabilities"))
        view.bars = option_bars(view.options, crowd, own)
        view.option_keys = [(f"option {bar.css}", bar.label) for bar in view.bars]
        moments = [at for at, _ in history]
        crowds = [values for _, values in history]
        view.option_chart = option_history_chart(
            view.options, moments, crowds, start=start, end=end
        )
        view.values = _choice_values(view.options, mine)
        return view
    assert quantity is not None
    crowd_cdf = (out.crowd or {}).get("cdf")
    view.density = density_chart(quantity, crowd_cdf, (mine or {}).get("cdf"))
    points = [band_point(at, values) for at, values in history]
    view.band = band_chart(points, quantity, start=start, end=end, latest=crowd_cdf)
    view.values = _quantile_values(quantity, mine)
    return view


def _in_order(options: Sequence[str], probabilities: Any) -> list[float] | None:
    if not probabilities:
        return None
    return [float(probabilities[label]) for label in options]


def forecast_words(claim: Claim, distribution: bytes | None) -> str | None:
    """A stored forecast of another kind in words; None for binary ones and withdrawals."""
    if distribution is None:
        return None
    values = unpack(distribution).tolist()
    if claim.kind == ClaimKind.MULTIPLE_CHOICE:
        return _words(claim, None, dict(zip(claim.options or [], values, strict=True)), None)
    return _words(claim, quantity_of(claim), None, values)


def _words(
    claim: Claim,
    quantity: Quantity | None,
    probabilities: Mapping[str, float] | None,
    cdf: Sequence[float] | None,
) -> str | None:
    if probabilities:
        options = claim.options or []
        return ", ".join(f"{label} {100 * probabilities[label]:.1f}%" for label in options)
    if cdf is None or quantity is None:
        return None
    low, median, high = (level_text(quantity, cdf, level) for level in (0.1, 0.5, 0.9))
    return f"median {median}; 80% between {low} and {high}"


def crowd_words(claim: Claim, out: ClaimOut) -> str | None:
    """The crowd of a claim of another kind in a few words, for lists: its likeliest option,
    or its median; None for a binary claim or before any forecast."""
    if claim.kind == ClaimKind.BINARY or not out.crowd:
        return None
    if claim.kind == ClaimKind.MULTIPLE_CHOICE:
        label, share = max(out.crowd.items(), key=lambda item: item[1])
        return f"{label} {100 * share:.0f}%"
    quantity = quantity_of(claim)
    assert quantity is not None
    return f"median {level_text(quantity, out.crowd['cdf'], 0.5)}"
