"""Numbers and dates of numeric and date claims as people read and type them.

A claim's values are stored as floats (dates as Unix seconds, SPEC §7); pages show them in
real units ("2.1M USD", "30 Jun 2027") and take them back from form fields.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from forecasts.score_math.distributions import Scale

_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))
_LONG_SPAN = 4 * 86400  # date ticks show times of day below this span


def _digits(value: float, significant: int) -> str:
    text = f"{value:.{significant}g}"
    return text if "e" not in text else f"{value:.{significant}e}"


def compact(value: float, significant: int = 3) -> str:
    """A number in few characters: 2100000 -> '2.1M', 0.25 -> '0.25', 1234 -> '1.23k'."""
    size = abs(value)
    for unit, suffix in _SUFFIXES:
        if size >= unit:
            return f"{_digits(value / unit, significant)}{suffix}"
    return _digits(value, significant)


def exact(value: float) -> str:
    """A number as a form field shows it, typed back unchanged: 2100000 -> '2100000'."""
    text = f"{value:.15g}"
    return text if "e" not in text else repr(value)


def moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def date_text(seconds: float, *, with_time: bool = False) -> str:
    """A date claim's value: '30 Jun 2027' (with the time of day for short spans)."""
    when = moment(seconds)
    if with_time:
        return when.strftime("%-d %b %Y %H:%M UTC")
    return when.strftime("%-d %b %Y")


def date_field(seconds: float) -> str:
    """A date claim's value for an `<input type="date">`."""
    return moment(seconds).strftime("%Y-%m-%d")


def parse_date(text: str) -> float:
    """A typed date ('2027-06-30', or an ISO time; UTC unless it names a zone) as Unix
    seconds; ValueError when it is not one."""
    when = datetime.fromisoformat(text.strip())
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


_DOLLARS = ("USD", "US$", "$")  # units for which a leading $ is the unit itself


def parse_number(text: str) -> float:
    """A typed number: '2100000', '2,100,000', '2.1e6', '2.1M'; ValueError if it is not one."""
    cleaned = text.strip().replace(",", "").replace("_", "").replace(" ", "")
    factor = 1.0
    for unit, suffix in _SUFFIXES:
        if cleaned[-1:].upper() == suffix.upper():
            cleaned, factor = cleaned[:-1], unit
            break
    value = float(cleaned) * factor
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


@dataclass(frozen=True)
class Quantity:
    """What a numeric or date claim's values are: its scale, whether they are dates, its unit."""

    scale: Scale
    is_date: bool = False
    unit: str = ""

    def text(self, value: float | None) -> str:
        """A value for reading, with its unit: '2.1M USD', '30 Jun 2027'; '—' for none."""
        if value is None:
            return "—"
        if self.is_date:
            return date_text(value)
        return f"{compact(value)} {self.unit}".strip()

    def field(self, value: float) -> str:
        """A value as its form field shows it."""
        return date_field(value) if self.is_date else exact(value)

    def parse(self, text: str) -> float:
        """A typed value; a number may carry the claim's unit ('4 USD', and '$4' for dollars)."""
        if self.is_date:
            return parse_date(text)
        cleaned = text.strip()
        if self.unit:
            cleaned = cleaned.removesuffix(self.unit).rstrip()
        if self.unit.upper() in _DOLLARS:
            cleaned = cleaned.removeprefix("$")
        return parse_number(cleaned)

    def ticks(self, count: int = 5) -> list[tuple[float, str]]:
        """Axis marks as (u, label): round numbers, decades on a log scale, dates as dates."""
        low, high = self.scale.range_min, self.scale.range_max
        if self.is_date:
            short = high - low < _LONG_SPAN
            spots = [low + (high - low) * i / (count - 1) for i in range(count)]
            return [(self.scale.u(at), date_text(at, with_time=short)) for at in spots]
        values = _log_marks(low, high) if self.scale.log_scale else _linear_marks(low, high, count)
        return [(self.scale.u(value), compact(value)) for value in values]


def _linear_marks(low: float, high: float, count: int) -> list[float]:
    """Round values in [low, high], about `count` of them, a 1, 2 or 5 step apart."""
    raw = (high - low) / (count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(power * m for m in (1, 2, 5, 10) if power * m >= 0.75 * raw)
    first = math.ceil(low / step - 1e-9)
    marks = []
    k = first
    while k * step <= high + step * 1e-9:
        marks.append(round(k * step, 12))
        k += 1
    return marks


def _log_marks(low: float, high: float) -> list[float]:
    """Powers of ten in [low, high]; with 1-2-5 between them when there are few."""
    for multiples in ((1,), (1, 3), (1, 2, 5)):
        marks = [
            m * 10.0**power
            for power in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
            for m in multiples
            if low * (1 - 1e-9) <= m * 10.0**power <= high * (1 + 1e-9)
        ]
        if len(marks) >= 3:
            return marks
    return [low, math.sqrt(low * high), high]
