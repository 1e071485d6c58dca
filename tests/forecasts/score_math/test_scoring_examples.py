"""Every figure of the worked examples (a copy in tests/data), by both implementations."""

import json
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from forecasts.score_math.scoring import ScoreRow, ScoringEvent, crowd_timeline
from tests.oracles.scoring import assert_example_rows, score_claim
from tests.oracles.scoring_naive import crowd_timeline_naive, score_claim_naive

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "scoring-examples.json"
TOLERANCE = 1e-9
SCORE_FIELDS = [field.name for field in fields(ScoreRow) if field.name != "handle"]


def _load() -> list[dict[str, Any]]:
    if not EXAMPLES.is_file():
        pytest.fail(f"worked examples missing: expected them at {EXAMPLES}")
    examples: list[dict[str, Any]] = json.loads(EXAMPLES.read_text())["examples"]
    return examples


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _events(example: dict[str, Any]) -> list[ScoringEvent]:
    # The examples list events in ledger order, so their position stands in for the seq.
    return [
        ScoringEvent(event["handle"], _time(event["at"]), seq, event["probability"])
        for seq, event in enumerate(example["events"], start=1)
    ]


ScoreClaim = Callable[..., list[ScoreRow]]
IMPLEMENTATIONS = [
    pytest.param(score_claim, id="sweep"),
    pytest.param(score_claim_naive, id="naive"),
]
TIMELINES = [
    pytest.param(crowd_timeline, id="sweep"),
    pytest.param(crowd_timeline_naive, id="naive"),
]
EXAMPLE_PARAMS = [pytest.param(example, id=example["name"]) for example in _load()]


def test_the_examples_cover_the_cases_the_spec_names() -> None:
    names = {param.id for param in EXAMPLE_PARAMS}
    assert {"two-forecasters", "withdrawal-gap", "early-close", "alone", "crowd"} <= names


@pytest.mark.parametrize("example", EXAMPLE_PARAMS)
@pytest.mark.parametrize("score", IMPLEMENTATIONS)
def test_scores_match_the_worked_example(example: dict[str, Any], score: ScoreClaim) -> None:
    rows = score(
        _events(example),
        opens_at=_time(example["opens_at"]),
        closes_at=_time(example["closes_at"]),
        closed_at=_time(example["closed_at"]),
        outcome={"yes": 1, "no": 0}[example["outcome"]],
    )
    assert_example_rows(example["name"], rows, example["scores"])


@pytest.mark.parametrize("example", EXAMPLE_PARAMS)
@pytest.mark.parametrize("timeline", TIMELINES)
def test_crowd_after_each_event_matches(
    example: dict[str, Any], timeline: Callable[[list[ScoringEvent]], list[Any]]
) -> None:
    got = timeline(_events(example))
    expected = example["crowd_after_each_event"]
    assert len(got) == len(expected)
    for (at, crowd), want, event in zip(got, expected, example["events"], strict=True):
        hours = (at - _time(example["opens_at"])).total_seconds() / 3600
        assert hours == pytest.approx(want["after_hour"], abs=TOLERANCE) == event["hour"]
        if want["crowd_probability"] is None:
            assert crowd is None
        else:
            assert crowd == pytest.approx(want["crowd_probability"], abs=TOLERANCE, rel=0)
