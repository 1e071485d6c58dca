"""What forecasters send: a probability (or odds) with an optional rationale."""

import math
import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, field_validator, model_validator

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


class ForecastIn(BaseModel):
    """Exactly one of `probability` and `odds`."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    probability: Annotated[StrictFloat, Field(allow_inf_nan=False)] | None = Field(
        default=None, description="0.001 to 0.999, a JSON number", examples=[0.7]
    )
    odds: Annotated[str, Field(max_length=40)] | None = Field(
        default=None, description="'a:b', a to b in favour of yes", examples=["3:1"]
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
            given = [name for name in ("probability", "odds") if data.get(name) is not None]
            if len(given) != 1:
                raise ValueError("give exactly one of 'probability' and 'odds'")
        return data

    @property
    def value(self) -> float:
        if self.probability is not None:
            return self.probability
        assert self.odds is not None
        return odds_to_probability(self.odds)
