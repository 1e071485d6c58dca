"""The forecast forms of claims that are numbers, dates or choices (SPEC §7).

A percentage per option, or two to five (chance, value) rows, read into the API's own body
(`ForecastIn`), so the page's forecast takes the same path as the API's. Problems come
back as sentences a person can act on, and the form keeps what was typed.
"""

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError

from forecasts.submit.schemas import ForecastIn
from web.pages.kind_view import FORM_LEVELS
from web.pages.quantities import Quantity
from web.pages.routing import plain_problems

_PERCENT_RANGE = (0.1, 99.9)  # SPEC §7: each probability in [0.001, 0.999]
_SUM_SLACK = 1e-4  # in percent: §7's 1e-6 on probabilities


@dataclass
class ForecastForm:
    """What was typed, the body made of it (None if refused) and the problems found."""

    values: dict[str, str]
    body: ForecastIn | None = None
    errors: list[str] = field(default_factory=list)


def _percent(text: str) -> float:
    value = float(text.strip().removesuffix("%").strip())
    if not math.isfinite(value):
        raise ValueError("not finite")
    return value


def choice_form(
    options: Sequence[str], posted: Mapping[str, str], rationale: str | None
) -> ForecastForm:
    """A percentage per option, adding up to 100."""
    names = [f"option_{i}" for i in range(len(options))]
    form = ForecastForm({name: posted.get(name, "").strip()[:40] for name in names})
    shares: dict[str, float] = {}
    low, high = _PERCENT_RANGE
    for label, name in zip(options, names, strict=True):
        try:
            share = _percent(form.values[name])
        except ValueError:
            form.errors.append(f"{label}: give a percentage, like 40.")
            continue
        if not low <= share <= high:
            form.errors.append(f"{label}: give a percentage from {low:g} to {high:g}.")
        shares[label] = share
    if form.errors:
        return form
    total = math.fsum(shares.values())
    if abs(total - 100) > _SUM_SLACK:
        form.errors.append(f"The percentages add up to {total:g}%; make them add up to 100%.")
        return form
    probabilities = {label: round(share / 100, 8) for label, share in shares.items()}
    return _body(form, {"probabilities": probabilities, "rationale": rationale})


def quantile_form(
    quantity: Quantity, posted: Mapping[str, str], rationale: str | None
) -> ForecastForm:
    """Two to five rows of (chance in percent that the outcome is at most the value, value)."""
    rows = range(len(FORM_LEVELS))
    form = ForecastForm(
        {
            f"{part}_{row}": posted.get(f"{part}_{row}", "").strip()[:40]
            for row in rows
            for part in "qx"
        }
    )
    rows_given: list[tuple[float, float, float | str]] = []  # (level, value, as sent)
    what = "a date like 2027-06-30" if quantity.is_date else "a number like 2100000"
    for row in rows:
        level_text, value_text = form.values[f"q_{row}"], form.values[f"x_{row}"]
        if not value_text:
            continue  # an unused row (its chance may stay filled in)
        where = f"Row {row + 1}"
        try:
            level = _percent(level_text)
        except ValueError:
            form.errors.append(f"{where}: give the chance as a percentage, like 50.")
            continue
        if not 0 < level < 100:
            form.errors.append(f"{where}: the chance must lie between 0% and 100%.")
            continue
        try:
            value = quantity.parse(value_text)
        except ValueError:
            form.errors.append(f"{where}: give {what}.")
            continue
        shown: float | str = value
        if quantity.is_date:
            shown = datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows_given.append((round(level / 100, 10), value, shown))
    if form.errors:
        return form
    if not 2 <= len(rows_given) <= len(FORM_LEVELS):
        form.errors.append(f"Give a value in two to {len(FORM_LEVELS)} rows.")
        return form
    rows_given.sort()  # rows in any order: the chances say which is which
    form.errors.extend(_order_problems(rows_given))
    if form.errors:
        return form
    pairs = [[level, shown] for level, _, shown in rows_given]
    return _body(form, {"quantiles": pairs, "rationale": rationale})


def _order_problems(rows: Sequence[tuple[float, float, float | str]]) -> list[str]:
    """What is wrong with the order of (chance, value) rows sorted by chance, in the form's
    words rather than the API's."""
    levels = [level for level, _, _ in rows]
    if len(set(levels)) < len(levels):
        return ["Two rows have the same chance: give each row its own."]
    if any(a[1] >= b[1] for a, b in itertools.pairwise(rows)):
        return [
            "A higher chance needs a larger value: the values must grow with the chances "
            "(quantile values must be strictly increasing)."
        ]
    return []


def _body(form: ForecastForm, data: dict[str, object]) -> ForecastForm:
    try:
        form.body = ForecastIn.model_validate(data)
    except ValidationError as error:
        form.errors.append(plain_problems(error.errors()))
    return form
