"""What forecasters send: a probability (or odds) with an optional rationale."""

import math
import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, field_validator, model_validator

from claims.schemas import Number, OptionLabel, RangeEnd
from claims.text import Rationale

MIN_PROBABILITY = 0.001
MAX_PROBABILITY = 0.999
_ODDS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$")


def check_probability(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    if not MIN_PROBABILITY <= value <= MAX_PROBABILITY:
        raise ValueError(f"must be between {MIN_PROBABILITY} and {MAX_PROBABILITY}")
    return value


def odds_to_probability(text: str) -> float:
    """`"a:b"` (a to b in favour of yes) as the probability a / (a + b)."""
    match = _ODDS.match(text)
    if match is None:
        raise ValueError("must look like '3:1' (a to b in favour of yes)")
    a, b = float(match.group(1)), float(match.group(2))
    if a + b <= 0 or not math.isfinite(a + b):
        raise ValueError("a and b must not both be zero")
    return check_probability(a / (a + b))


# The body fields of each kind's forecast (SPEC §7); a claim takes its kind's only.
SHAPES = ("probability", "odds", "probabilities", "cdf", "quantiles")


class ForecastIn(BaseModel):
    """Exactly one of `probability` and `odds` (binary), `probabilities` (multiple choice),
    `cdf` or `quantiles` (numeric and date); checked against the claim's kind when stored."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    probability: Annotated[StrictFloat, Field(allow_inf_nan=False)] | None = Field(
        default=None, description="0.001 to 0.999, a JSON number", examples=[0.7]
    )
    odds: Annotated[str, Field(max_length=40)] | None = Field(
        default=None, description="'a:b', a to b in favour of yes", examples=["3:1"]
    )
    probabilities: dict[OptionLabel, Number] | None = Field(
        default=None, max_length=20, description="label -> probability, every option once"
    )
    cdf: list[Number] | None = Field(
        default=None, max_length=201, description="201 values F_0 … F_200 (SPEC §7)"
    )
    quantiles: list[tuple[Number, RangeEnd]] | None = Field(
        default=None, max_length=10, description="[[level, value], …]: 2 to 10 pairs"
    )
    rationale: Rationale | None = None

    @field_validator("probability")
    @classmethod
    def _probability_in_range(cls, value: float | None) -> float | None:
        return None if value is None else check_probability(value)

    @field_validator("odds")
    @classmethod
    def _odds_readable(cls, value: str | None) -> str | None:
        if value is not None:
            odds_to_probability(value)
        return value

    @model_validator(mode="before")
    @classmethod
    def _exactly_one(cls, data: Any) -> Any:
        if isinstance(data, dict):
            given = [name for name in SHAPES if data.get(name) is not None]
            if len(given) != 1:
                names = ", ".join(repr(name) for name in SHAPES)
                raise ValueError(f"give exactly one of {names}")
        return data

    @property
    def value(self) -> float | None:
        """The probability of a binary body (None for other shapes)."""
        if self.probability is not None:
            return self.probability
        return None if self.odds is None else odds_to_probability(self.odds)

    def values(self) -> tuple[str, Any] | None:
        """Another kind's body as (field, value); None for a binary body."""
        for name in ("probabilities", "cdf", "quantiles"):
            given = getattr(self, name)
            if given is not None:
                return name, given
        return None
