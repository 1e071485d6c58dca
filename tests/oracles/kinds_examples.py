"""SPEC §7's worked examples (tests/data/scoring-examples-kinds.json) as stored values.

Each event's distribution as it would be stored: multiple-choice probabilities normalised in
the claim's option order, numeric and date CDFs regenerated from the example's family or
converted from its quantiles. The score tests, the oracle's and the API's, read them here.
"""

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from forecasts.score_math.distributions import (
    GRID,
    Scale,
    cdf_from_quantiles,
    normalise,
    round_cdf,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "scoring-examples-kinds.json"


def load() -> list[dict[str, Any]]:
    """The examples, as the JSON holds them."""
    examples: list[dict[str, Any]] = json.loads(EXAMPLES.read_text())["examples"]
    return examples


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def unix(value: str | float) -> float:
    """A date example's ISO time as Unix seconds; numbers pass through."""
    if isinstance(value, str):
        return parse_time(value).timestamp()
    return float(value)


def from_unix(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class KindEvent:
    handle: str
    at: datetime
    seq: int
    distribution: list[float] | None  # None: a withdrawal


def scale_of(example: dict[str, Any]) -> Scale:
    return Scale(
        unix(example["range_min"]),
        unix(example["range_max"]),
        log_scale=bool(example.get("log_scale", False)),
        open_lower=example["open_lower_bound"],
        open_upper=example["open_upper_bound"],
    )


def logistic_cdf(scale: Scale, centre: float, width: float) -> list[float]:
    """The examples' generated family (their `about` text), rounded like a received CDF."""
    logistic = 1 / (1 + np.exp(-(GRID - centre) / width))
    low = logistic[0] if not scale.open_lower else 0.0
    high = logistic[-1] if not scale.open_upper else 1.0
    g = (logistic - low) / (high - low)
    a, b = scale.ends()
    return round_cdf(a + (b - a) * (0.98 * g + 0.02 * GRID))


def _distribution(example: dict[str, Any], event: dict[str, Any]) -> list[float] | None:
    if example["kind"] == "multiple_choice":
        given = event["probabilities"]
        if given is None:
            return None
        return normalise([given[label] for label in example["options"]])
    scale = scale_of(example)
    if "quantiles" in event:
        if event["quantiles"] is None:
            return None
        return cdf_from_quantiles(scale, [(q, unix(x)) for q, x in event["quantiles"]])
    family = event["cdf"]
    if family is None:
        return None
    assert family["family"] == "logistic"
    return logistic_cdf(scale, family["centre_u"], family["scale_u"])


def events_of(example: dict[str, Any]) -> list[KindEvent]:
    """The example's events in ledger order (their position stands in for the seq)."""
    return [
        KindEvent(event["handle"], parse_time(event["at"]), seq, _distribution(example, event))
        for seq, event in enumerate(example["events"], start=1)
    ]


def outcome_of(example: dict[str, Any]) -> str | float:
    """The label (multiple choice) or the number (dates as Unix seconds)."""
    if example["kind"] == "multiple_choice":
        label: str = example["outcome"]
        return label
    return unix(example["outcome"])


def close(a: float, b: float, tolerance: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=0, abs_tol=tolerance)
