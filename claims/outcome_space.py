"""What a claim's outcome can be (SPEC §7): its kind's fields, checked and recorded.

`check_space` turns an editor's fields into the claims row's values (dates as Unix seconds)
or raises `Invalid` naming the field; `space_record` is what the ledger carries of them and
`space_of_record` reads that back (replay). A binary claim has none of these fields.
"""

import math
import sys
import unicodedata
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from claims.clock import parse_stamp, stamp
from claims.errors import Invalid
from claims.states import LABEL_MAX, RANGE_KINDS, ClaimKind

# Outcomes a resolution body names besides a label (decisions.md: labels may not take them).
RESERVED_LABELS = frozenset({"annulled", "ambiguous"})
BINS = 200  # SPEC §7's N (forecasts.score_math.distributions.N_BINS; claims/ cannot import it)
SPACE_FIELDS = (
    "options",
    "range_min",
    "range_max",
    "open_lower_bound",
    "open_upper_bound",
    "log_scale",
    "unit",
)
# What a forecast's shape and score depend on: all but the unit, which only labels numbers.
SHAPE_FIELDS = tuple(name for name in SPACE_FIELDS if name != "unit")


@dataclass(frozen=True)
class Space:
    """The claims row's kind fields (defaults: a binary claim's)."""

    options: list[str] | None = None
    range_min: float | None = None
    range_max: float | None = None
    open_lower_bound: bool = True
    open_upper_bound: bool = True
    log_scale: bool = False
    unit: str = ""

    def columns(self) -> dict[str, Any]:
        return asdict(self)


def space_of(row: Any) -> Space:
    """The Space of a claims row (or anything with its attributes)."""
    return Space(**{name: getattr(row, name) for name in SPACE_FIELDS})


def check_space(kind: str, given: dict[str, Any], base: Space | None = None) -> Space:
    """The row values for `kind` from the fields `given` (over `base`'s, when amending)."""
    values = (base or Space()).columns()
    for name, value in given.items():
        _belongs(kind, name, value)
        values[name] = value
    if kind == ClaimKind.MULTIPLE_CHOICE:
        values["options"] = _options(values["options"])
    elif kind in RANGE_KINDS:
        values["range_min"], values["range_max"] = _range(kind, values, given)
        if values["log_scale"] and values["range_min"] <= 0:
            raise Invalid("log_scale", "needs range_min > 0")
        _refuse_degenerate(values["range_min"], values["range_max"], values["log_scale"])
    return Space(**values)


def _belongs(kind: str, name: str, value: Any) -> None:
    """A field of another kind is refused (a default value, as a form sends it, is not)."""
    if name == "options":
        fits = kind == ClaimKind.MULTIPLE_CHOICE or value is None
    elif name == "log_scale":
        fits = kind == ClaimKind.NUMERIC or value is False
    elif name in ("open_lower_bound", "open_upper_bound"):
        fits = kind in RANGE_KINDS or value is True
    else:  # range_min, range_max, unit
        fits = kind in RANGE_KINDS or value in (None, "")
    if not fits:
        raise Invalid(name, f"is not a field of a {kind} claim")


def _options(options: list[str] | None) -> list[str]:
    if options is None:
        raise Invalid("options", "a multiple_choice claim needs 2 to 20 options")
    if not 2 <= len(options) <= 20:
        raise Invalid("options", "must list 2 to 20 options")
    labels: list[str] = []
    for index, option in enumerate(options):
        label = unicodedata.normalize("NFC", option)
        if not 1 <= len(label) <= LABEL_MAX:
            raise Invalid(["options", index], f"must be 1 to {LABEL_MAX} characters")
        if label in labels:
            raise Invalid(["options", index], f"duplicates the option {label!r}")
        if label in RESERVED_LABELS:
            raise Invalid(["options", index], f"{label!r} is an outcome of its own")
        labels.append(label)
    return labels


def _range(kind: str, values: dict[str, Any], given: dict[str, Any]) -> tuple[float, float]:
    ends = []
    for name in ("range_min", "range_max"):
        value = values[name]
        if value is None:
            raise Invalid(name, f"a {kind} claim needs range_min and range_max")
        if name in given:
            value = _end(kind, name, value)
        ends.append(float(value))
    if not ends[0] < ends[1]:
        raise Invalid("range_max", "must be greater than range_min")
    return ends[0], ends[1]


def _refuse_degenerate(low: float, high: float, log_scale: bool) -> None:
    """A range whose spread overflows, or whose 200 bins (SPEC §7's N) are not distinct
    numbers, cannot be scaled, scored or drawn (decisions.md, hostile user session 6)."""
    if log_scale:
        spread, what = high / low, "range_max / range_min"
        first, last = low * spread ** (1 / BINS), high / spread ** (1 / BINS)
    else:
        spread, what = high - low, "range_max - range_min"
        first, last = low + spread / BINS, high - spread / BINS
    if not math.isfinite(spread):
        raise Invalid("range_max", f"is too far from range_min: {what} overflows")
    if not low < first <= last < high or (high - low) / BINS < sys.float_info.min:
        raise Invalid("range_max", f"is too close to range_min to split into {BINS} bins")


def _end(kind: str, name: str, value: Any) -> float:
    """A given end: a number for numeric, an ISO time (kept as Unix seconds) for date."""
    if kind == ClaimKind.DATE:
        if not isinstance(value, datetime):
            raise Invalid(name, "must be an ISO-8601 time with a zone")
        return _date_seconds(name, value)
    if isinstance(value, datetime | bool):
        raise Invalid(name, "must be a number")
    return float(value)


def space_record(kind: str, space: Space) -> dict[str, Any]:
    """The kind and its fields as claim entries carry them (none for a binary claim)."""
    if kind == ClaimKind.BINARY:
        return {}
    if kind == ClaimKind.MULTIPLE_CHOICE:
        return {"kind": kind, "options": space.options}
    ends: dict[str, Any] = {"range_min": space.range_min, "range_max": space.range_max}
    if kind == ClaimKind.DATE:
        ends = {name: stamp(unix_time(value)) for name, value in ends.items()}
    return {
        "kind": kind,
        **ends,
        "open_lower_bound": space.open_lower_bound,
        "open_upper_bound": space.open_upper_bound,
        "log_scale": space.log_scale,
        "unit": space.unit,
    }


def space_of_record(payload: dict[str, Any]) -> tuple[str, Space]:
    """The inverse of `space_record`: a payload without a kind is a binary claim's."""
    kind = payload.get("kind", ClaimKind.BINARY)
    values = {name: payload[name] for name in SPACE_FIELDS if name in payload}
    if kind == ClaimKind.DATE:
        for name in ("range_min", "range_max"):
            values[name] = parse_stamp(values[name]).timestamp()
    return str(kind), Space(**values)


def unix_time(seconds: float) -> datetime:
    """A date claim's stored value as a UTC time."""
    return datetime.fromtimestamp(seconds, UTC)


# Unix seconds of 0001-01-01 and of 10000-01-01: a date claim's values lie in between. The
# last microseconds of year 9999 are seconds that round up to the year 10000 as a double,
# which no time can show (decisions.md, hostile user session 6).
FIRST_SECOND, END_SECOND = -62135596800.0, 253402300800.0


def in_calendar(seconds: float) -> bool:
    """Whether Unix seconds name a time that `unix_time` can give back."""
    return FIRST_SECOND <= seconds < END_SECOND


def _date_seconds(name: str | list[Any], moment: datetime) -> float:
    seconds = moment.timestamp()
    if not in_calendar(seconds):
        raise Invalid(name, "lies too close to the end of year 9999 to be stored")
    return seconds


def check_rules(kind: str, rules: list[Any]) -> None:
    """`yes_early` is binary only (SPEC §7): an early close needs a yes."""
    if kind == ClaimKind.BINARY:
        return
    for index, rule in enumerate(rules):
        if rule.yes_early:
            raise Invalid(["rules", index, "yes_early"], "only binary claims resolve early")


# The outcome token of a resolved numeric or date claim: its number is `outcome_value`.
VALUE = "value"
_SETTLING = ("annulled", "ambiguous")


def check_outcome(kind: str, space: Space, outcome: Any) -> tuple[str, float | None]:
    """An editor's or a rule's outcome as (token, value), or `Invalid` naming `outcome`.

    Binary: yes/no; multiple choice: a label; numeric: a number; date: an ISO time (or a
    datetime); every kind: annulled or ambiguous. Outside a closed bound is refused.
    """
    if isinstance(outcome, str) and outcome in _SETTLING:
        return outcome, None
    if kind == ClaimKind.BINARY:
        if outcome in ("yes", "no"):
            return str(outcome), None
        raise Invalid("outcome", "must be one of yes, no, annulled, ambiguous")
    if kind == ClaimKind.MULTIPLE_CHOICE:
        label = unicodedata.normalize("NFC", outcome) if isinstance(outcome, str) else None
        if label is None or label not in (space.options or []):
            raise Invalid("outcome", "must be one of the options, annulled or ambiguous")
        return label, None
    value = _outcome_value(kind, outcome)
    problem = bound_problem(space, value)
    if problem:
        raise Invalid("outcome", f"{problem} (annul the claim instead)")
    return VALUE, value


def _outcome_value(kind: str, outcome: Any) -> float:
    if kind == ClaimKind.DATE:
        try:
            moment = outcome if isinstance(outcome, datetime) else parse_stamp(str(outcome))
        except ValueError:
            raise Invalid("outcome", "must be an ISO-8601 time with a zone") from None
        return _date_seconds("outcome", moment)
    if isinstance(outcome, bool) or not isinstance(outcome, int | float):
        raise Invalid("outcome", "must be a number, annulled or ambiguous")
    if outcome != outcome or outcome in (float("inf"), float("-inf")):
        raise Invalid("outcome", "must be a finite number")
    return float(outcome)


def bound_problem(space: Space, value: float) -> str | None:
    """Why `value` cannot be the outcome: it lies beyond a closed bound."""
    assert space.range_min is not None and space.range_max is not None
    if value < space.range_min and not space.open_lower_bound:
        return "lies below the closed lower bound"
    if value > space.range_max and not space.open_upper_bound:
        return "lies above the closed upper bound"
    return None


def recorded_outcome(kind: str, token: str | None, value: float | None) -> Any:
    """The outcome as the ledger and the API show it: a string, a number or an ISO time."""
    if value is None:
        return token
    return stamp(unix_time(value)) if kind == ClaimKind.DATE else value


def outcome_of_record(kind: str, recorded: Any) -> tuple[str, float | None]:
    """The inverse of `recorded_outcome` for a settlement's payload."""
    if kind in RANGE_KINDS and recorded not in _SETTLING:
        if kind == ClaimKind.DATE:
            return VALUE, parse_stamp(recorded).timestamp()
        return VALUE, float(recorded)
    return str(recorded), None
