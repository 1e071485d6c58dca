"""Rules of claims that are numbers, dates or choices (SPEC §7): the value a rule proposes.

A rule's expression yields a string equal to a label (multiple choice), a number (numeric),
or an ISO time or Unix seconds (date). Rules agree when their values are equal as values
(numbers as doubles, dates as instants); a value beyond a closed bound is no decision, and
nothing decides before `resolves_at` (`yes_early` is binary only).
"""

import math
import unicodedata
from collections.abc import Sequence
from typing import Any

from claims.clock import parse_stamp
from claims.outcome_space import VALUE, Space, bound_problem, in_calendar
from claims.states import ClaimKind

# (outcome token, value): a label and None, or VALUE and the number (dates: Unix seconds)
Proposed = tuple[str, float | None]


def rule_value(kind: str, space: Space, value: Any) -> Proposed | None:
    """What an extracted value proposes, or None when it decides nothing."""
    if kind == ClaimKind.MULTIPLE_CHOICE:
        if isinstance(value, str):
            label = unicodedata.normalize("NFC", value)
            if label in (space.options or []):
                return label, None
        return None
    number = _number(kind, value)
    if number is None or bound_problem(space, number) is not None:
        return None
    return VALUE, number


def _number(kind: str, value: Any) -> float | None:
    if kind == ClaimKind.DATE and isinstance(value, str):
        try:
            value = parse_stamp(value).timestamp()
        except (ValueError, OverflowError):
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any double
        return None
    if kind == ClaimKind.DATE and not in_calendar(number):
        return None  # seconds that name no time (e.g. 1e15) decide nothing
    return number if math.isfinite(number) else None


def decide_values(
    proposals: Sequence[Proposed | None], *, before_resolves_at: bool
) -> tuple[str, float | None]:
    """Combine the rules' proposals: agreement is that outcome; else none or conflict."""
    if before_resolves_at or not proposals or any(p is None for p in proposals):
        return "none", None
    first = proposals[0]
    assert first is not None
    if all(p == first for p in proposals):
        return first
    return "conflict", None
